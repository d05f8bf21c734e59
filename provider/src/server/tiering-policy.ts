/**
 * When V8 optimises the plugin's functions (issue 18: CPU per create).
 *
 * V8 runs a function in its interpreter, then in baseline code, and sends it to its optimising
 * compiler, TurboFan, once the function has used up an interrupt budget of executed bytecode
 * (`--interrupt-budget`, 66 KB in the V8 of Node 20). TurboFan compiles on background threads, whose
 * CPU time is the plugin's too. A plugin lives for one engine command and answers a burst of the
 * same few RPCs: in a burst of 50 creates, `perf` put 20–29 % of the plugin's CPU in TurboFan, most
 * of it for functions that then ran a few hundred more times, too few to win the compile back.
 *
 * {@link delayOptimization} raises the budget to {@link INTERRUPT_BUDGET_BYTES}, so a function is
 * optimised after about seven times as much work. Measured (BENCHMARKS.md, "CPU per create, fourth
 * round"): the background threads' CPU per create fell from 1.9–2.8 ms to 0.8–1.1 ms at N=50, and CPU
 * per create fell by about 15 % at N=50 and N=500; code that runs thousands of times (a refresh of
 * 10,000 VMs, the XML reader) is still optimised, later. V8 reads the flag whenever it resets a
 * function's budget, so it can be set at run time, where the launcher (`#!/usr/bin/env node`)
 * cannot pass flags; functions already loaded take it at their next reset.
 */
import * as v8 from "node:v8";
import { InternalError } from "../resources/errors";

/** Bytes of executed bytecode before V8 considers optimising a function (V8's own: 66 KB). */
export const INTERRUPT_BUDGET_BYTES = 500_000;

/** Sets V8's interrupt budget to `bytes` (see the module's comment). */
export function delayOptimization(bytes: number = INTERRUPT_BUDGET_BYTES): void {
  if (!Number.isInteger(bytes) || bytes < 1) {
    throw new InternalError(`the interrupt budget must be a whole number of bytes, 1 or more; got ${bytes}`);
  }
  v8.setFlagsFromString(`--interrupt-budget=${bytes}`);
}
