/** The image references `docker pull` recorded in this process (nothing is downloaded). */
import { imageName, type ImageName } from "./image-name";

interface ImageRecord {
  readonly name: ImageName;
  readonly recorded: Date;
}

/** The references recorded by pulls in this process. */
export class ImageRecords {
  private readonly byFull = new Map<string, ImageRecord>();

  record(reference: string): ImageRecord {
    const name = imageName(reference);
    let found = this.byFull.get(name.full);
    if (!found) this.byFull.set(name.full, (found = { name, recorded: new Date() }));
    return found;
  }

  forget(name: ImageName): boolean {
    return this.byFull.delete(name.full);
  }

  all(): ImageRecord[] {
    return [...this.byFull.values()];
  }
}
