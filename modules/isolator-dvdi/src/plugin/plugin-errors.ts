/**
 * Error codes of `tessera-volume-local`. The plugin answers Docker's volume plugin protocol, where an
 * error is a plain `{"Err": "..."}` text: each text starts with one of these codes, so whoever reads it
 * (Docker, the dvdi isolator, an operator) can look it up in docs/errors.md. Kept free of imports so the
 * plugin's bundle stays small.
 */

/** VolumeLocalErrorCodes catalogues the plugin's codes with a one-line description each. */
export const VolumeLocalErrorCodes = {
  DVDI_LOCAL_NO_SUCH_VOLUME: 'The call names a volume the plugin does not have.',
  DVDI_LOCAL_INVALID_REQUEST: 'The request body is not JSON, lacks Name or ID, or names a volume with characters outside [A-Za-z0-9_.-].',
  DVDI_LOCAL_OPTION_INVALID: 'Create got an unknown option or a bad value (size, mode, uid, gid).',
  DVDI_LOCAL_SIZE_UNSUPPORTED: 'Create asked for a size, but this host cannot enforce one (not root, no mkfs.ext4, no loop devices).',
  DVDI_LOCAL_EXISTS: 'Create names an existing volume with other options than it was created with.',
  DVDI_LOCAL_IN_USE: 'Remove of a volume that is still mounted by at least one mount id.',
  DVDI_LOCAL_MOUNT_FAILED: 'Formatting, mounting or unmounting the ext4 image of a sized volume failed.',
  DVDI_LOCAL_STATE_CORRUPT: "The plugin's state file does not read back.",
  DVDI_LOCAL_STATE_WRITE_FAILED: "The plugin cannot write its state file or a volume's directory (disk full, permissions).",
  DVDI_LOCAL_LISTEN_FAILED: 'The plugin cannot listen on its socket (another plugin answers there, permissions).',
  DVDI_LOCAL_FLAG_INVALID: 'A command-line flag of tessera-volume-local is unknown or has a bad value.',
} as const;

/** VolumeLocalErrorCode is one of {@link VolumeLocalErrorCodes}. */
export type VolumeLocalErrorCode = keyof typeof VolumeLocalErrorCodes;

/** PluginError is an error the plugin answers as `{"Err": "<code>: <message>"}`. */
export class PluginError extends Error {
  constructor(
    readonly code: VolumeLocalErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'PluginError';
  }
}
