/** Bonneville's engine stand-in: start the plugin as the engine does and run preview/up/refresh/import/destroy. */
export * from "./values";
export * from "./rpc";
export * from "./plugin";
export * from "./stack";
export * from "./program";
export * from "./silent-vcenter";
