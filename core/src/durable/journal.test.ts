import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLog, type Log } from '../log';
import { Journal, type JournalOptions, type JournalStage } from './journal';

// A journal of a key-value map: the smallest state that shows replay order and compaction.
type Op = { op: 'set'; key: string; value: number } | { op: 'delete'; key: string };
type State = Map<string, number>;

class Coded extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let dir: string;
let lines: string[];
let log: Log;
const open: Journal<Op, State>[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-journal-'));
  lines = [];
  log = createLog({ level: 'debug', write: (l) => void lines.push(l) });
});
afterEach(() => {
  jest.restoreAllMocks();
  for (const j of open.splice(0)) {
    try {
      j.close();
    } catch {
      // closed by the test
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

const journalFile = () => path.join(dir, 'ops.jsonl');
const snapshotFile = () => path.join(dir, 'snapshot.json');
const onDisk = () => fs.readFileSync(journalFile(), 'utf8');

const openJournal = (extra: Partial<JournalOptions<Op, State>> = {}): Journal<Op, State> => {
  const j = Journal.open<Op, State>({
    dir,
    journalFile: 'ops.jsonl',
    snapshotFile: 'snapshot.json',
    log,
    state: new Map(),
    apply: (s, op) => (op.op === 'set' ? s.set(op.key, op.value) : s.delete(op.key)),
    size: (s) => s.size,
    encode: JSON.stringify,
    decode: JSON.parse,
    checkOp: (v, fail) => {
      const o = v as { seq?: unknown; op?: unknown };
      if (typeof o !== 'object' || o === null || !Number.isInteger(o.seq)) throw fail('no "seq"');
      if (o.op !== 'set' && o.op !== 'delete') throw fail(`unknown op ${JSON.stringify(o.op)}`);
      return v as Op & { seq: number };
    },
    snapshotOf: (s, seq) => ({ seq, entries: [...s] }),
    loadSnapshot: (v, s, fail) => {
      const snap = v as { seq?: unknown; entries?: [string, number][] };
      if (!Number.isInteger(snap.seq) || !Array.isArray(snap.entries)) throw fail('not a snapshot');
      for (const [k, n] of snap.entries) s.set(k, n);
      return snap.seq as number;
    },
    corrupt: (file, line, what) => new Coded('TEST_CORRUPT', `corrupt at ${file}:${line}: ${what}`),
    failed: (stage: JournalStage, file, cause) => new Coded('TEST_WRITE_FAILED', `${stage} ${file}: ${(cause as Error).message}`),
    closed: () => new Coded('TEST_WRITE_FAILED', 'closed'),
    tornWarning: (file, line, bytes) => `torn last line ${file}:${line} (${bytes} bytes)`,
    compactionWarning: (file, cause) => `compaction into ${file} failed: ${cause.message}`,
    ...extra,
  });
  open.push(j);
  return j;
};

const set = (key: string, value: number): Op => ({ op: 'set', key, value });

describe('Journal', () => {
  it('resolves the durable ops of one event-loop turn with one write and one fsync', async () => {
    const j = openJournal();
    const fsync = jest.spyOn(fs, 'fsyncSync');
    const durable = Array.from({ length: 500 }, (_, i) => j.durable(set(`k${i}`, i)));
    expect(j.state.get('k499')).toBe(499); // applied at once
    expect(onDisk()).toBe(''); // written at the end of the turn
    await Promise.all(durable);
    expect(fsync).toHaveBeenCalledTimes(1);
    const written = onDisk().trim().split('\n');
    expect(written).toHaveLength(500);
    expect(JSON.parse(written[0])).toEqual({ seq: 1, op: 'set', key: 'k0', value: 0 });
    expect(j.lines).toBe(500);
    expect(j.seq).toBe(500);
  });

  it('writes appended ops at the end of the turn and fsyncs them at most lazySyncMs later', async () => {
    const j = openJournal({ lazySyncMs: 20 });
    const fsync = jest.spyOn(fs, 'fsyncSync');
    j.append(set('a', 1));
    j.append(set('b', 2));
    await new Promise((r) => setImmediate(r));
    expect(onDisk().trim().split('\n')).toHaveLength(2);
    expect(fsync).not.toHaveBeenCalled();
    await new Promise((r) => setTimeout(r, 60));
    expect(fsync).toHaveBeenCalledTimes(1);
  });

  it('reads back the same state after a reopen, replaying only lines after the snapshot', async () => {
    const j = openJournal();
    await j.durable(set('a', 1));
    j.append(set('b', 2));
    j.append({ op: 'delete', key: 'a' });
    j.close();
    expect(() => j.append(set('c', 3))).toThrow('closed');
    await expect(j.durable(set('c', 3))).rejects.toThrow('closed');

    const again = openJournal();
    expect([...again.state]).toEqual([['b', 2]]);
    expect(again.seq).toBe(3);
    again.append(set('c', 3));
    again.flush();
    expect(JSON.parse(onDisk().trim().split('\n')[3]).seq).toBe(4);
  });

  it('drops a torn last line with a warning naming its line, and truncates it away', async () => {
    const j = openJournal();
    await j.durable(set('a', 1));
    j.close();
    fs.appendFileSync(journalFile(), '{"seq":2,"op":"se');
    const again = openJournal();
    expect([...again.state]).toEqual([['a', 1]]);
    expect(lines.join('\n')).toContain(`torn last line ${journalFile()}:2 (17 bytes)`);
    expect(onDisk().endsWith('}\n')).toBe(true);
    again.append(set('b', 2));
    again.close();
    expect([...openJournal().state]).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
  });

  it("refuses a corrupt line with the caller's error naming file and line", async () => {
    const j = openJournal();
    await j.durable(set('a', 1));
    await j.durable(set('b', 2));
    j.close();
    const good = onDisk();

    fs.writeFileSync(journalFile(), `${good}not json\n`);
    expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'TEST_CORRUPT', message: expect.stringContaining(`${journalFile()}:3: not valid JSON`) }));
    fs.writeFileSync(journalFile(), `${good}{"seq":3,"op":"rename"}\n`);
    expect(() => openJournal()).toThrow(`${journalFile()}:3: unknown op "rename"`);
    fs.writeFileSync(journalFile(), `${good}{"seq":2,"op":"delete","key":"a"}\n`);
    expect(() => openJournal()).toThrow(`${journalFile()}:3: seq 2 does not follow seq 2`);
    fs.writeFileSync(snapshotFile(), '{\n"seq": 1,\n oops');
    expect(() => openJournal()).toThrow(expect.objectContaining({ code: 'TEST_CORRUPT', message: expect.stringContaining(`${snapshotFile()}:3: not valid JSON`) }));
    fs.writeFileSync(snapshotFile(), '{"seq":"one"}');
    expect(() => openJournal()).toThrow(`${snapshotFile()}:1: not a snapshot`);
  });

  it('compacts into the snapshot once the journal is long enough, and reads the same state back', async () => {
    const compacted: number[] = [];
    const j = openJournal({ compactEvery: 20, onCompact: (seq) => compacted.push(seq) });
    for (let i = 0; i < 30; i++) await j.durable(set(`k${i % 5}`, i));
    expect(compacted).toEqual([21]);
    expect(j.lines).toBe(9);
    expect(JSON.parse(fs.readFileSync(snapshotFile(), 'utf8')).seq).toBe(21);
    expect(fs.existsSync(`${snapshotFile()}.tmp`)).toBe(false);
    const state = [...j.state];
    j.close();
    const loaded: number[] = [];
    const again = openJournal({ onLoad: (seq) => loaded.push(seq) });
    expect([...again.state]).toEqual(state);
    expect(loaded).toEqual([30]);
  });

  it('keeps the journal when a compaction fails, with a warning', async () => {
    const j = openJournal({ compactEvery: 5 });
    jest.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw new Error('EIO: rename failed');
    });
    for (let i = 0; i < 8; i++) await j.durable(set('k', i));
    expect(j.lines).toBe(8);
    expect(lines.join('\n')).toContain(`compaction into ${snapshotFile()} failed: EIO: rename failed`);
    jest.restoreAllMocks();
    j.close();
    expect(fs.existsSync(snapshotFile())).toBe(false);
    expect([...openJournal().state]).toEqual([['k', 7]]);
  });

  it('latches a write failure: waiters and every later write get the same error', async () => {
    const j = openJournal();
    await j.durable(set('a', 1));
    const write = jest.spyOn(fs, 'writeSync').mockImplementation(() => {
      throw new Error('ENOSPC: no space left on device');
    });
    const waiting = j.durable(set('b', 2));
    await expect(waiting).rejects.toThrow(`write ${dir}: ENOSPC: no space left on device`);
    write.mockRestore();
    const latched = j.failed;
    expect(latched).toMatchObject({ code: 'TEST_WRITE_FAILED' });
    expect(() => j.append(set('c', 3))).toThrow(latched);
    expect(() => j.flush()).toThrow(latched);
    await expect(j.durable(set('c', 3))).rejects.toBe(latched);
    expect(() => j.close()).not.toThrow();
    expect([...openJournal().state]).toEqual([['a', 1]]);
  });

  it("reports a directory it cannot create with the caller's error", () => {
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => openJournal({ dir: path.join(dir, 'file', 'sub') })).toThrow(expect.objectContaining({ code: 'TEST_WRITE_FAILED', message: expect.stringContaining('create ') }));
  });
});
