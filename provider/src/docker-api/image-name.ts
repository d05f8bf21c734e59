/** Image references as Docker normalises them. */
/** A reference in full (`docker.io/library/nginx:1.27`) and familiar (`nginx:1.27`) form. */
export interface ImageName {
  readonly full: string;
  readonly familiar: string;
}

/**
 * Normalises a reference as Docker does: the default registry `docker.io`, `library/` for its
 * official images, and the tag `latest` when neither tag nor digest is given.
 */
export function imageName(reference: string): ImageName {
  let rest = reference;
  let digest = "";
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at);
    rest = rest.slice(0, at);
  }
  let tag = "";
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  const hasRegistry = slash >= 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  let registry = "docker.io";
  let path = rest;
  if (hasRegistry) {
    registry = first;
    path = rest.slice(slash + 1);
  } else if (!rest.includes("/")) {
    path = `library/${rest}`;
  }
  const suffix = `${tag ? `:${tag}` : digest ? "" : ":latest"}${digest}`;
  const full = `${registry}/${path}${suffix}`;
  const familiarPath =
    registry === "docker.io" ? path.replace(/^library\/(?=[^/]+$)/, "") : `${registry}/${path}`;
  return { full, familiar: `${familiarPath}${suffix}` };
}
