/**
 * The ABI version this copy of `@tessera/modules-api` implements. The package version *is* the ABI
 * version (minor = additive, major = new proto package).
 */
import pkg from '../package.json';

// A build may stamp another ABI version (only the compatibility fixtures do, to stand for module builds
// made with a later SDK release): `esbuild --define:__TESSERA_ABI_VERSION__='"1.1.0"'`.
declare const __TESSERA_ABI_VERSION__: string | undefined;

/** ABI_VERSION is the ABI (semver) a module built with this SDK was built against. */
export const ABI_VERSION: string =
  typeof __TESSERA_ABI_VERSION__ === 'string' ? __TESSERA_ABI_VERSION__ : (pkg as { version: string }).version;

/** SDK_NAME identifies this SDK in ModuleInfo.sdk. */
export const SDK_NAME = `@tessera/modules-api ${ABI_VERSION}`;

/** HANDSHAKE_VERSION is the version of the handshake line; fixed forever at 1. */
export const HANDSHAKE_VERSION = 1;

/** handshakeLine is the one line a module prints on stdout once it listens. */
export function handshakeLine(socketPath: string): string {
  return `tessera-module|${HANDSHAKE_VERSION}|unix|${socketPath}`;
}

/** Environment variables the core sets when it starts a module. */
export const ENV = {
  MODULE: 'TESSERA_MODULE',
  NAME: 'TESSERA_MODULE_NAME',
  SOCKET: 'TESSERA_MODULE_SOCKET',
  TOKEN: 'TESSERA_MODULE_TOKEN',
  CORE_VERSION: 'TESSERA_CORE_VERSION',
} as const;

/** TOKEN_METADATA is the gRPC metadata key every call carries. */
export const TOKEN_METADATA = 'tessera-token';
