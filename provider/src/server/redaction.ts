/** Keeps secret strings out of everything the plugin writes: logs, progress messages, error messages. */

/** Replacement text for a redacted secret. */
export const REDACTED = "[secret]";

/** Strings shorter than this are not redacted (they would mangle ordinary words). */
const MIN_SECRET_LENGTH = 4;

/** The set of secret strings seen by this process, and redaction against it. */
export class SecretRedactor {
  private readonly secrets = new Set<string>();

  /** Remembers secret strings (the password, strings inside secret-wrapped values). */
  add(values: Iterable<string>): void {
    for (const value of values) if (value.length >= MIN_SECRET_LENGTH) this.secrets.add(value);
  }

  /** `text` with every known secret replaced by {@link REDACTED}; longest secrets first. */
  redact(text: string): string {
    let out = text;
    for (const secret of [...this.secrets].sort((a, b) => b.length - a.length)) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return out;
  }
}
