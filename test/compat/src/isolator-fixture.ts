// The compatibility fixture: one isolator, built into single files stamped with different ABI versions
// (test/compat/make-builds.mjs). The builds are kept in test/compat/builds/ as made, never rebuilt: they
// stand for module builds of earlier (and later) SDK releases that the current core must handle.
import { serve, TesseraError, ABI_VERSION } from '@tessera/modules-api';

const prepared = new Set<string>();

void serve({
  name: `compat-isolator`,
  version: ABI_VERSION,
  description: `Isolator built with @tessera/modules-api ${ABI_VERSION}`,
  isolator: {
    async prepare(req) {
      const id = req.containerId?.value;
      if (!id) throw new TesseraError('TSR_INVALID_ARGUMENT', 'container_id is required');
      prepared.add(id);
      return { environment: { variables: [{ name: 'COMPAT_ABI', value: ABI_VERSION }] } };
    },
    async isolate(req) {
      if (!prepared.has(req.containerId?.value ?? '')) throw new TesseraError('COMPAT_UNKNOWN', 'isolate before prepare');
    },
    async usage() {
      return { processes: prepared.size };
    },
    async cleanup(req) {
      prepared.delete(req.containerId?.value ?? '');
    },
  },
});
