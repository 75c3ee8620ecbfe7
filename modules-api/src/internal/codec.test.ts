// The version gate: a core never sends a field or calls an RPC newer than the ABI version negotiated with
// a module. ABI 1.0 has nothing newer yet, so these tests pretend two elements came with 1.1.
jest.mock('../generated/since.json', () => ({
  ...jest.requireActual('../generated/since.json'),
  'tessera.modules.v1.Resource.shared': '1.1',
  'tessera.modules.v1.Isolator.WatchResources': '1.1',
}));

// Required after jest.mock on purpose: the esbuild transform does not hoist jest.mock above imports.
/* eslint-disable @typescript-eslint/no-require-imports */
const { decode, encode, gate, lookupType } = require('./codec') as typeof import('./codec');
const { ModuleConnection } = require('../client/connection') as typeof import('../client/connection');
const { TesseraError } = require('../errors') as typeof import('../errors');

describe('version gate', () => {
  const Resource = lookupType('tessera.modules.v1.Resource');
  const Prepare = lookupType('tessera.modules.v1.PrepareRequest');

  it('drops fields newer than the negotiated version, at any depth', () => {
    const r = { name: 'gpus', type: 'SCALAR', scalar: { value: 1 }, shared: true };
    expect(gate(Resource, r, '1.0.0')).toEqual({ name: 'gpus', type: 'SCALAR', scalar: { value: 1 } });
    expect(gate(Resource, r, '1.1.0')).toBe(r);
    const req = { containerId: { value: 'c' }, containerConfig: { resources: [r, { name: 'cpus', shared: false }] } };
    const gated = gate(Prepare, req, '1.0.0') as typeof req;
    expect(gated.containerConfig.resources.map((x) => 'shared' in x)).toEqual([false, false]);
    expect(decode(Prepare, encode(Prepare, gated))).toEqual({
      containerId: { value: 'c' },
      containerConfig: { resources: [{ name: 'gpus', type: 'SCALAR', scalar: { value: 1 }, reservations: [] }, { name: 'cpus', reservations: [] }] },
    });
  });

  it('refuses an RPC newer than the negotiated version before sending anything', async () => {
    const conn = new ModuleConnection('gpu', '/nonexistent.sock', 't');
    conn.setNegotiated('isolator', '1.0.0');
    expect(() => conn.serverStream('isolator', 'WatchResources', {})).toThrow(TesseraError);
    expect(() => conn.serverStream('isolator', 'WatchResources', {})).toThrow(
      'module gpu: isolator.WatchResources exists since ABI 1.1 but ABI 1.0.0 was negotiated',
    );
    conn.close();
  });

  it('reports a value of the wrong shape with the field it is in', () => {
    expect(() => encode(Prepare, { containerId: 'c1' })).toThrow(/cannot encode tessera\.modules\.v1\.PrepareRequest: .*containerId: object expected/);
  });
});
