/**
 * The Docker volume plugin protocol (https://docs.docker.com/engine/extend/plugins_volume/): HTTP/1.1
 * POSTs of JSON, every answer may carry `Err`. Shared by the client (the isolator) and the server
 * (tessera-volume-local). Kept free of imports so the plugin's bundle stays small.
 */

/** MEDIA_TYPE is what Docker sends as Accept and Content-Type (protocol version 1.2). */
export const MEDIA_TYPE = 'application/vnd.docker.plugins.v1.2+json';

/** RESPONSE_MEDIA_TYPE is what plugins answer with (Docker's plugin helpers use v1). */
export const RESPONSE_MEDIA_TYPE = 'application/vnd.docker.plugins.v1+json';

/** VOLUME_DRIVER is the subsystem name /Plugin.Activate must list. */
export const VOLUME_DRIVER = 'VolumeDriver';

/** ErrResponse is the error part every answer may carry. */
export interface ErrResponse {
  Err?: string;
}

/** ActivateResponse answers /Plugin.Activate. */
export interface ActivateResponse extends ErrResponse {
  Implements?: string[];
}

/** CreateRequest asks for a volume (/VolumeDriver.Create). */
export interface CreateRequest {
  Name: string;
  Opts?: Record<string, string>;
}

/** NameRequest names a volume (/VolumeDriver.Remove, .Path, .Get). */
export interface NameRequest {
  Name: string;
}

/** MountRequest mounts or unmounts a volume for one caller (/VolumeDriver.Mount, .Unmount). */
export interface MountRequest {
  Name: string;
  /** ID is unique per caller: the plugin keeps the volume mounted while any ID holds it. */
  ID: string;
}

/** MountpointResponse answers /VolumeDriver.Mount and .Path. */
export interface MountpointResponse extends ErrResponse {
  Mountpoint?: string;
}

/** VolumeInfo describes a volume in /VolumeDriver.Get and .List. */
export interface VolumeInfo {
  Name: string;
  Mountpoint?: string;
  CreatedAt?: string;
  Status?: Record<string, unknown>;
}

/** GetResponse answers /VolumeDriver.Get. */
export interface GetResponse extends ErrResponse {
  Volume?: VolumeInfo;
}

/** ListResponse answers /VolumeDriver.List. */
export interface ListResponse extends ErrResponse {
  Volumes?: VolumeInfo[];
}

/** CapabilitiesResponse answers /VolumeDriver.Capabilities. */
export interface CapabilitiesResponse extends ErrResponse {
  Capabilities?: { Scope?: 'local' | 'global' | string };
}

/** VOLUME_CALLS are the protocol's volume driver calls, as URL paths without the leading slash. */
export const VOLUME_CALLS = [
  'VolumeDriver.Create',
  'VolumeDriver.Remove',
  'VolumeDriver.Mount',
  'VolumeDriver.Path',
  'VolumeDriver.Unmount',
  'VolumeDriver.Get',
  'VolumeDriver.List',
  'VolumeDriver.Capabilities',
] as const;

/** VolumeCall is one of {@link VOLUME_CALLS} or the activation call. */
export type PluginCall = (typeof VOLUME_CALLS)[number] | 'Plugin.Activate';
