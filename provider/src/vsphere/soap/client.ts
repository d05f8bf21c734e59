/** One vim25 method call over the transport: encode, send, decode, raise typed faults. */
import { describeFault, SoapFaultError, TransportError, VimFault } from "../faults";
import { MoRef } from "../types";
import type { SoapTransport } from "./transport";
import { decodeResponse, encodeRequest, type DataObject } from "./xml";

/** Options of a single call. */
export interface CallOptions {
  /** Cancels the call (the HTTP request is destroyed). */
  readonly signal?: AbortSignal;
}

/** Invokes vim25 methods; knows nothing of sessions. */
export class SoapClient {
  constructor(readonly transport: SoapTransport) {}

  /** Calls `method` on `target` with arguments in wire order; resolves with its `returnval`. */
  async invoke(
    method: string,
    target: MoRef,
    args: DataObject = {},
    options: CallOptions = {},
  ): Promise<unknown> {
    const envelope = encodeRequest(method, target, args);
    const { status, body } = await this.transport.post(method, envelope, options.signal);
    let parsed;
    try {
      parsed = decodeResponse(body);
    } catch (err) {
      throw new TransportError(
        `${method} on ${target.value}: the server answered HTTP ${status} with no SOAP envelope` +
          (body ? `: ${body.slice(0, 200)}` : ""),
        undefined,
        { cause: err },
      );
    }
    if (parsed.ok) return parsed.returnval;
    const fault = parsed.fault;
    if (fault.vimType) {
      const detail = fault.detail ?? {};
      throw new VimFault(
        fault.vimType,
        `${method} on ${target.value}: ${describeFault(fault.vimType, fault.faultString, detail)}`,
        detail,
        method,
        target,
      );
    }
    throw new SoapFaultError(method, fault.faultCode, fault.faultString, target);
  }
}

/** The ServiceInstance every session starts from. */
export const serviceInstance = new MoRef("ServiceInstance", "ServiceInstance");
