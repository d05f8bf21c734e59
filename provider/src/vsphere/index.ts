/** Bonneville's typed vSphere (vim25) client. Knows nothing of Pulumi. */
export interface VSphereConnectionOptions {
  /** SDK endpoint, e.g. `https://vcenter.example.com/sdk` (a bare host name gets `https://` and `/sdk`). */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  /** Accept any certificate (self-signed labs). Default false. */
  readonly allowUnverifiedSsl?: boolean;
  /** Accept exactly the certificate with this SHA-256 fingerprint (hex, colons optional). */
  readonly thumbprint?: string;
}

export declare class VSphereClient {
  constructor(options: VSphereConnectionOptions);
  /** Logs out (if logged in) and closes connections. */
  close(): Promise<void>;
  /** Aborts every wait in flight. */
  abortAll(reason?: string): void;
}
