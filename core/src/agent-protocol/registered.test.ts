// registeredEncoder: the answers it makes are the MasterMessages encodeMasterMessage makes, byte for byte
// once decoded, for any agent id and whatever the master info holds.
import { decodeMasterMessage, encodeMasterMessage, registeredEncoder } from './protocol';

const MASTER_INFO = { id: 'm-1', ip: 16777343, port: 5050, pid: 'master@127.0.0.1:5050', hostname: 'master-1', version: '0.1.0', address: { hostname: 'master-1', ip: '127.0.0.1', port: 5050 } };

describe('registeredEncoder', () => {
  it('encodes what encodeMasterMessage encodes, for short and long agent ids', () => {
    const encode = registeredEncoder({ master_info: MASTER_INFO, ping_interval_seconds: 15 });
    for (const id of ['S0', 'e0f5b1c2-7a4d-4c9e-9d1e-3f2a6b8c0d11-S12345', 'x'.repeat(300)]) {
      const full = { registered: { agent_id: { value: id }, master_info: MASTER_INFO, ping_interval_seconds: 15 } };
      const answer = encode(id);
      expect(decodeMasterMessage(answer)).toEqual(decodeMasterMessage(encodeMasterMessage(full)));
      expect(answer.length).toBe(encodeMasterMessage(full).length);
    }
  });

  it('keeps what it was given when the ping interval is left out', () => {
    const answer = decodeMasterMessage(registeredEncoder({ master_info: MASTER_INFO })('S1'));
    expect(answer.registered?.agent_id.value).toBe('S1');
    expect(answer.registered?.ping_interval_seconds).toBeUndefined();
    expect(answer.registered?.master_info.hostname).toBe('master-1');
  });
});
