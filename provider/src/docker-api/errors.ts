/**
 * Errors in Docker's form: an HTTP status and `{"message": "..."}`. Every error a
 * handler throws reaches the client through {@link dockerErrorOf}; the resource
 * layer's errors keep their messages (they say which property and what is allowed).
 */
import { isNotFound, PropertyWaitTimeoutError, AbortedError } from "../vsphere";
import { BonnevilleError, ValidationError, WaitTimeoutError } from "../resources/errors";

/** An error with the HTTP status the Docker API gives it. */
export class DockerApiError extends BonnevilleError {
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** 400: a parameter or body field that cannot be used. */
export function badRequest(message: string): DockerApiError {
  return new DockerApiError(400, message);
}

/** 404: no such object. */
export function notFound(message: string): DockerApiError {
  return new DockerApiError(404, message);
}

/** 409: the object's state forbids the operation (a running container removed without force). */
export function conflict(message: string): DockerApiError {
  return new DockerApiError(409, message);
}

/**
 * 501: a Docker feature this endpoint does not serve. The message starts with the feature and says
 * "is not supported" (the docker CLI's `inspect` skips such answers when it probes object types).
 */
export function notSupported(feature: string, reason: string): DockerApiError {
  return new DockerApiError(501, `${feature} is not supported by Bonneville's Docker API: ${reason}`);
}

/** 400 for a request option this endpoint cannot honour (a `docker run` flag, a filter). */
export function unsupportedOption(option: string, reason: string): DockerApiError {
  return new DockerApiError(400, `${option} is not supported by Bonneville's Docker API: ${reason}`);
}

/** The error to send for anything a handler threw. */
export function dockerErrorOf(error: unknown): DockerApiError {
  if (error instanceof DockerApiError) return error;
  if (error instanceof ValidationError) {
    return new DockerApiError(400, `invalid container spec: ${error.message}`, { cause: error });
  }
  if (error instanceof WaitTimeoutError || error instanceof PropertyWaitTimeoutError) {
    return new DockerApiError(500, error.message, { cause: error });
  }
  if (error instanceof AbortedError) {
    return new DockerApiError(503, `the operation was cancelled: ${error.message}`, { cause: error });
  }
  if (isNotFound(error)) {
    return new DockerApiError(404, messageOf(error), { cause: error });
  }
  return new DockerApiError(500, messageOf(error), { cause: error });
}

/** The message of an error. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
