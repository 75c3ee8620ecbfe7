import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { discover, parseUrl } from './discovery';

describe('plugin discovery', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-discovery-'));
  const sockets = path.join(dir, 'run');
  const etc = path.join(dir, 'etc');
  const servers: net.Server[] = [];
  const listen = async (p: string) => {
    fs.mkdirSync(path.dirname(p), { recursive: true });
    const s = net.createServer();
    servers.push(s);
    await new Promise<void>((r) => s.listen(p, r));
  };
  const where = { socketDirs: [sockets], specDirs: [sockets, etc] };

  beforeAll(() => fs.mkdirSync(etc, { recursive: true }));
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds sockets as <name>.sock and <name>/<name>.sock, before spec files', async () => {
    await listen(path.join(sockets, 'flat.sock'));
    await listen(path.join(sockets, 'nested', 'nested.sock'));
    fs.writeFileSync(path.join(etc, 'flat.spec'), 'tcp://10.0.0.1:9000');
    expect(discover('flat', where)).toEqual({ name: 'flat', address: { kind: 'unix', socketPath: path.join(sockets, 'flat.sock') }, url: `unix://${path.join(sockets, 'flat.sock')}`, source: path.join(sockets, 'flat.sock') });
    expect(discover('nested', where).source).toBe(path.join(sockets, 'nested', 'nested.sock'));
  });

  it('ignores a regular file named like a socket, and reads .spec then .json', () => {
    fs.mkdirSync(sockets, { recursive: true });
    fs.writeFileSync(path.join(sockets, 'fake.sock'), 'not a socket');
    fs.writeFileSync(path.join(etc, 'fake.json'), JSON.stringify({ Name: 'fake', Addr: 'https://storage.example:8443', TLSConfig: { InsecureSkipVerify: true, CAFile: '/etc/ca.pem' } }));
    expect(discover('fake', where)).toMatchObject({
      address: { kind: 'tcp', protocol: 'https:', host: 'storage.example', port: 8443, tls: { ca: '/etc/ca.pem', insecureSkipVerify: true } },
      url: 'https://storage.example:8443',
      source: path.join(etc, 'fake.json'),
    });
  });

  it('takes the drivers parameter first', () => {
    expect(discover('flat', { ...where, drivers: { flat: 'unix:///elsewhere/x.sock' } })).toMatchObject({ address: { kind: 'unix', socketPath: '/elsewhere/x.sock' }, source: 'the drivers parameter' });
  });

  it('reads addresses and refuses what is not one', () => {
    expect(parseUrl('d', 'tcp://127.0.0.1:2375', 'x').address).toEqual({ kind: 'tcp', protocol: 'http:', host: '127.0.0.1', port: 2375 });
    expect(parseUrl('d', 'http://[::1]:80', 'x').address).toMatchObject({ host: '::1', port: 80 });
    expect(() => parseUrl('d', 'unix://relative.sock', 'spec file f')).toThrow(/socket path is not absolute/);
    expect(() => parseUrl('d', '/run/x.sock', 'spec file f')).toThrow(/which is not a URL/);
    expect(() => parseUrl('d', 'tcp://:80', 'spec file f')).toThrow();
  });
});
