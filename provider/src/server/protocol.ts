/**
 * The engine's wire protocol: the pulumirpc stubs that @pulumi/pulumi ships and the
 * google.protobuf well-known types *from the same google-protobuf copy they were generated
 * against* (a second copy of google-protobuf produces messages the stubs reject). Loaded on
 * first use so the plugin starts fast.
 */
import * as path from "node:path";
import type * as grpcJs from "@grpc/grpc-js";
import type * as providerGrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import type * as providerPb from "@pulumi/pulumi/proto/provider_pb";
import type * as pluginPb from "@pulumi/pulumi/proto/plugin_pb";
import type * as engineGrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import type * as enginePb from "@pulumi/pulumi/proto/engine_pb";
import type * as statusPb from "@pulumi/pulumi/proto/status_pb";
import type * as structPb from "google-protobuf/google/protobuf/struct_pb";
import type * as emptyPb from "google-protobuf/google/protobuf/empty_pb";
import type * as anyPb from "google-protobuf/google/protobuf/any_pb";
import {
  readStructRequest,
  writeStructResponse,
  type StructRequest,
  type StructResponse,
} from "./struct-wire";

/** The loaded protocol modules. */
export interface Protocol {
  readonly grpc: typeof grpcJs;
  readonly providerGrpc: typeof providerGrpc;
  readonly provider: typeof providerPb;
  readonly plugin: typeof pluginPb;
  readonly engineGrpc: typeof engineGrpc;
  readonly engine: typeof enginePb;
  readonly status: typeof statusPb;
  readonly struct: typeof structPb;
  readonly empty: typeof emptyPb;
  readonly any: typeof anyPb;
}

let loaded: Protocol | undefined;

/**
 * Defined (as `true`) only in the plugin tarball's single-file bundle (scripts/package-plugin.sh),
 * whose bundler maps every `google-protobuf` import to the copy the stubs use.
 */
declare const BONNEVILLE_BUNDLE: boolean | undefined;

/** Loads (once) and returns the protocol modules. */
export function protocol(): Protocol {
  if (loaded) return loaded;
  const bundled = typeof BONNEVILLE_BUNDLE !== "undefined" && BONNEVILLE_BUNDLE;
  const stubs = bundled ? "" : path.dirname(require.resolve("@pulumi/pulumi/proto/provider_pb"));
  const wellKnown = (name: "struct_pb" | "empty_pb" | "any_pb"): unknown => {
    if (bundled) {
      // Static names, so that the bundler finds them.
      if (name === "struct_pb") return require("google-protobuf/google/protobuf/struct_pb");
      if (name === "empty_pb") return require("google-protobuf/google/protobuf/empty_pb");
      return require("google-protobuf/google/protobuf/any_pb");
    }
    return require(require.resolve(`google-protobuf/google/protobuf/${name}`, { paths: [stubs] }));
  };
  loaded = {
    grpc: require("@grpc/grpc-js") as typeof grpcJs,
    providerGrpc: require("@pulumi/pulumi/proto/provider_grpc_pb") as typeof providerGrpc,
    provider: require("@pulumi/pulumi/proto/provider_pb") as typeof providerPb,
    plugin: require("@pulumi/pulumi/proto/plugin_pb") as typeof pluginPb,
    engineGrpc: require("@pulumi/pulumi/proto/engine_grpc_pb") as typeof engineGrpc,
    engine: require("@pulumi/pulumi/proto/engine_pb") as typeof enginePb,
    status: require("@pulumi/pulumi/proto/status_pb") as typeof statusPb,
    struct: wellKnown("struct_pb") as typeof structPb,
    empty: wellKnown("empty_pb") as typeof emptyPb,
    any: wellKnown("any_pb") as typeof anyPb,
  };
  return loaded;
}

/** The `Struct` of a request as a JavaScript object (`{}` when absent). */
export function structToObject(struct: structPb.Struct | undefined): Record<string, unknown> {
  return struct ? (struct.toJavaScript() as Record<string, unknown>) : {};
}

/** A JavaScript object as a protobuf `Struct`. */
export function objectToStruct(object: Record<string, unknown>): structPb.Struct {
  return protocol().struct.Struct.fromJavaScript(object as Record<string, structPb.JavaScriptValue>);
}

/** The Struct fields of the requests and responses whose property maps skip google-protobuf. */
export const STRUCT_FIELDS = {
  checkRequest: { olds: 2, news: 3 },
  checkResponse: { inputs: 1 },
  createRequest: { properties: 2 },
  createResponse: { properties: 2 },
} as const;

/** A Check request as the provider service receives it (its olds and news decoded, not in `message`). */
export type CheckCall = StructRequest<providerPb.CheckRequest, keyof typeof STRUCT_FIELDS.checkRequest>;
/** A Check answer (its inputs encoded, not in `message`). */
export type CheckAnswer = StructResponse<providerPb.CheckResponse, keyof typeof STRUCT_FIELDS.checkResponse>;
/** A Create request as the provider service receives it (its properties decoded, not in `message`). */
export type CreateCall = StructRequest<providerPb.CreateRequest, keyof typeof STRUCT_FIELDS.createRequest>;
/** A Create answer (its properties encoded, not in `message`). */
export type CreateAnswer = StructResponse<
  providerPb.CreateResponse,
  keyof typeof STRUCT_FIELDS.createResponse
>;

let service: grpcJs.ServiceDefinition | undefined;

/**
 * pulumirpc.ResourceProvider as the plugin serves it: the generated definition, except that Check
 * and Create (one each per resource a deployment makes) carry their property maps as
 * {@link CheckCall}/{@link CheckAnswer} and {@link CreateCall}/{@link CreateAnswer}, read and
 * written by `struct-wire.ts` instead of google-protobuf's Struct messages. The bytes on the wire
 * are the same protobuf messages.
 */
export function resourceProviderService(): grpcJs.ServiceDefinition {
  if (service) return service;
  const { providerGrpc, provider } = protocol();
  const generated = providerGrpc.ResourceProviderService as unknown as grpcJs.ServiceDefinition;
  service = {
    ...generated,
    check: {
      ...generated.check!,
      requestDeserialize: (bytes: Buffer): CheckCall =>
        readStructRequest(bytes, STRUCT_FIELDS.checkRequest, (rest) =>
          provider.CheckRequest.deserializeBinary(rest),
        ),
      responseSerialize: (answer: CheckAnswer): Buffer =>
        writeStructResponse(answer, STRUCT_FIELDS.checkResponse, (message) => message.serializeBinary()),
    },
    create: {
      ...generated.create!,
      requestDeserialize: (bytes: Buffer): CreateCall =>
        readStructRequest(bytes, STRUCT_FIELDS.createRequest, (rest) =>
          provider.CreateRequest.deserializeBinary(rest),
        ),
      responseSerialize: (answer: CreateAnswer): Buffer =>
        writeStructResponse(answer, STRUCT_FIELDS.createResponse, (message) => message.serializeBinary()),
    },
  };
  return service;
}
