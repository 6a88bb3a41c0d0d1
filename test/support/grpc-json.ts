// gRPC services for tests, defined without .proto files: JSON messages and
// grpc-js method definitions built from a name and the two streaming flags.
// Shared by the forwarder's gRPC tests and the process tests.

import type { MethodDefinition } from '@grpc/grpc-js';

export interface Msg {
  text?: string;
  n?: number;
}

export const toJson = (v: Msg): Buffer => Buffer.from(JSON.stringify(v));
export const fromJson = (b: Buffer): Msg => JSON.parse(b.toString()) as Msg;

/** A method of `service` (e.g. "martello.test.Echo") carrying JSON messages. */
export function jsonMethod(service: string, name: string, requestStream: boolean, responseStream: boolean): MethodDefinition<Msg, Msg> {
  return {
    path: `/${service}/${name}`,
    requestStream,
    responseStream,
    requestSerialize: toJson,
    requestDeserialize: fromJson,
    responseSerialize: toJson,
    responseDeserialize: fromJson,
  };
}
