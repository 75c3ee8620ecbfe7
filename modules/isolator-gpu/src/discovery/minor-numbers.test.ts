import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isBusId, minorOf, parseDriverInformation, parseSmiQuery, readDriverMinors } from './minor-numbers';

// /proc/driver/nvidia/gpus/0000:00:06.0/information of an H100 (driver 580.159.04): label, tabs, a space, value.
const H100_INFORMATION = [
  'Model: \t\t NVIDIA H100 80GB HBM3',
  'IRQ:   \t\t 41',
  'GPU UUID: \t GPU-88566250-bf7a-b1df-a339-fab64a6b50a9',
  'Video BIOS: \t 96.00.99.00.0d',
  'Bus Type: \t PCIe',
  'DMA Size: \t 52 bits',
  'DMA Mask: \t 0xfffffffffffff',
  'Bus Location: \t 0000:00:06.0',
  'Device Minor: \t 0',
  'GPU Firmware: \t 580.159.04',
  'GPU Excluded:\t No',
  '',
].join('\n');

// nvidia-smi -q, shortened: the header, then one section per GPU opened by its bus id.
const SMI_Q = `
==============NVSMI LOG==============

Timestamp                                              : Sat Dec  5 19:45:27 2026
Driver Version                                         : 580.159.04

Attached GPUs                                          : 3
GPU 00000000:07:00.0
    Product Name                                       : NVIDIA A100-SXM4-40GB
    Minor Number                                       : 2
    PCI
        Bus Id                                         : 00000000:07:00.0

GPU 00000000:0F:00.0
    Product Name                                       : NVIDIA A100-SXM4-40GB
    Minor Number                                       : N/A

GPU 00000000:47:00.0
    Product Name                                       : NVIDIA A100-SXM4-40GB
    Minor Number                                       : 0
        Minor Number                                   : 9

`;

describe('minor numbers', () => {
  it('reads the driver\'s information file: bus location and device minor', () => {
    expect(parseDriverInformation(H100_INFORMATION)).toEqual({ pciBusId: '0000:00:06.0', minor: 0 });
    // No "Bus Location" line (an older driver): the directory's name is the bus id.
    expect(parseDriverInformation('Model: \t\t Tesla K80\nDevice Minor: \t 3\n', '0000:04:00.0')).toEqual({ pciBusId: '0000:04:00.0', minor: 3 });
    expect(parseDriverInformation('Model: \t\t Tesla K80\n', '0000:04:00.0')).toBeUndefined();
    expect(parseDriverInformation('Device Minor: \t 3\n', 'not-a-bus')).toBeUndefined();
  });

  it('reads every GPU directory under <proc>/gpus, and says why when there is none', () => {
    const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-proc-'));
    try {
      for (const [bus, minor] of [['0000:00:06.0', 0], ['0000:07:00.0', 5]] as const) {
        fs.mkdirSync(path.join(proc, 'gpus', bus), { recursive: true });
        fs.writeFileSync(path.join(proc, 'gpus', bus, 'information'), H100_INFORMATION.replace('0000:00:06.0', bus).replace('Minor: \t 0', `Minor: \t ${minor}`));
      }
      fs.mkdirSync(path.join(proc, 'gpus', '0000:09:00.0')); // no information file: skipped
      expect(readDriverMinors(proc)).toEqual({ entries: [{ pciBusId: '0000:00:06.0', minor: 0 }, { pciBusId: '0000:07:00.0', minor: 5 }] });
    } finally {
      fs.rmSync(proc, { recursive: true, force: true });
    }
    expect(readDriverMinors('/nonexistent/driver/nvidia')).toEqual({ entries: [], problem: 'cannot read /nonexistent/driver/nvidia/gpus: ENOENT (no such file or directory)' });
  });

  it('reads the minor number of each GPU section of nvidia-smi -q (not "N/A", not a nested one)', () => {
    expect(parseSmiQuery(SMI_Q)).toEqual([{ pciBusId: '00000000:07:00.0', minor: 2 }, { pciBusId: '00000000:47:00.0', minor: 0 }]);
    expect(parseSmiQuery('No devices were found\n')).toEqual([]);
  });

  it('matches bus ids whatever the domain width and case', () => {
    const entries = [{ pciBusId: '0000:0f:00.0', minor: 3 }];
    expect(minorOf(entries, '00000000:0F:00.0')).toBe(3);
    expect(minorOf(entries, '00000000:07:00.0')).toBeUndefined();
    expect(minorOf(entries, '[N/A]')).toBeUndefined();
    expect(isBusId('00000000:00:06.0') && isBusId('0000:00:06.0') && !isBusId('GPU requires reset')).toBe(true);
  });
});
