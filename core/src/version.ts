/** The core's version and the module ABI versions it supports per kind. */
import pkg from '../package.json';
import { SUPPORTED_ABI, type CoreAbi } from '@tessera/modules-api';

/** CORE_VERSION is this core release. */
export const CORE_VERSION: string = (pkg as { version: string }).version;

/** CORE_ABI is what this core release supports: recorded per kind, as docs/compatibility.md shows. */
export const CORE_ABI: CoreAbi = { version: CORE_VERSION, abi: SUPPORTED_ABI };
