/**
 * The engine's encoding of "created but failed to initialise": gRPC status UNKNOWN whose
 * `grpc-status-details-bin` trailer holds a google.rpc.Status with one Any of type
 * `type.googleapis.com/pulumirpc.ErrorResourceInitFailed` {id, properties, reasons, inputs}.
 */
import type { Metadata, ServiceError } from "@grpc/grpc-js";
import { protocol, objectToStruct, structToObject } from "./protocol";

/** Metadata key of the binary google.rpc.Status in a gRPC error. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";
/** Fully qualified protobuf name of the init-failure detail. */
export const INIT_FAILED_TYPE_NAME = "pulumirpc.ErrorResourceInitFailed";

/** An init failure in wire form (properties and inputs as the engine will record them). */
export interface ResourceInitFailure {
  readonly id: string;
  readonly properties: Record<string, unknown>;
  readonly inputs: Record<string, unknown>;
  readonly reasons: readonly string[];
}

/** A gRPC error object for a handler callback carrying `failure` as ErrorResourceInitFailed. */
export function initFailureError(message: string, failure: ResourceInitFailure): Partial<ServiceError> {
  const { grpc, provider, status, any } = protocol();
  const detail = new provider.ErrorResourceInitFailed();
  detail.setId(failure.id);
  detail.setProperties(objectToStruct(failure.properties));
  detail.setInputs(objectToStruct(failure.inputs));
  detail.setReasonsList([...failure.reasons]);
  const packed = new any.Any();
  packed.pack(detail.serializeBinary(), INIT_FAILED_TYPE_NAME);
  const rpcStatus = new status.Status();
  rpcStatus.setCode(grpc.status.UNKNOWN);
  rpcStatus.setMessage(message);
  rpcStatus.addDetails(packed);
  const metadata = new grpc.Metadata();
  metadata.add(STATUS_DETAILS_KEY, Buffer.from(rpcStatus.serializeBinary()));
  return { code: grpc.status.UNKNOWN, details: message, metadata };
}

/** Reads an ErrorResourceInitFailed detail out of a gRPC error's trailers; undefined when there is none. */
export function decodeInitFailure(metadata: Metadata | undefined): ResourceInitFailure | undefined {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (raw === undefined || typeof raw === "string") return undefined;
  const { provider, status } = protocol();
  const rpcStatus = status.Status.deserializeBinary(new Uint8Array(raw));
  for (const detail of rpcStatus.getDetailsList()) {
    if (detail.getTypeName() !== INIT_FAILED_TYPE_NAME) continue;
    const failure = detail.unpack(provider.ErrorResourceInitFailed.deserializeBinary, INIT_FAILED_TYPE_NAME);
    if (!failure) continue;
    return {
      id: failure.getId(),
      properties: structToObject(failure.getProperties()),
      inputs: structToObject(failure.getInputs()),
      reasons: failure.getReasonsList(),
    };
  }
  return undefined;
}
