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
