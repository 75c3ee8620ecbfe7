/**
 * Ids the master hands out, in Mesos's formats: framework `<masterId>-0000`, agent `<masterId>-S0`,
 * offer `<masterId>-O0`. The master id is new per master run (a UUID), so ids of different runs never
 * collide; counters restart per run.
 *
 * That is also why a master restarted on a work_dir needs to persist neither the master id nor the
 * counters: the agents and frameworks it recovers from the registry carry an earlier run's master id,
 * and the ones it admits carry its own. A new master id per run is Mesos's behaviour too (MasterInfo.id
 * changes with every failover; schedulers notice a failover by it).
 */
import { randomUUID } from 'node:crypto';

/** IdGenerator mints ids for one master run. */
export class IdGenerator {
  private frameworks = 0;
  private agents = 0;
  private offers = 0;

  /** Creates a generator for a master id (a fresh UUID by default). */
  constructor(readonly masterId: string = randomUUID()) {}

  /** The next framework id. */
  framework(): string {
    return `${this.masterId}-${String(this.frameworks++).padStart(4, '0')}`;
  }

  /** The next agent id. */
  agent(): string {
    return `${this.masterId}-S${this.agents++}`;
  }

  /** The next offer id. */
  offer(): string {
    return `${this.masterId}-O${this.offers++}`;
  }
}
