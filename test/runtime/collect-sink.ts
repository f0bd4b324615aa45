import type { ManifestWeight } from '../../compiler/package/manifest.ts';
import type { WeightSink } from '../../runtime/src/weights/weight-sink.ts';

/** A sink that keeps every weight's bytes and checks the loader's contract as it goes. */
export class CollectSink implements WeightSink {
  readonly bytes = new Map<string, Uint8Array>();
  readonly maxPiece = new Map<string, number>();
  readonly events: string[] = [];
  writes = 0;
  private current: ManifestWeight | null = null;
  private coverage: Uint8Array | null = null;

  begin(weight: ManifestWeight): void {
    if (this.current) throw new Error(`begin ${weight.name} inside ${this.current.name}`);
    this.current = weight;
    this.bytes.set(weight.name, new Uint8Array(weight.bytes));
    this.coverage = new Uint8Array(weight.bytes);
    this.events.push(`begin ${weight.name}`);
  }

  write(name: string, offset: number, piece: Uint8Array): void {
    if (this.current?.name !== name) throw new Error(`write to ${name} outside its begin/end`);
    this.writes++;
    this.bytes.get(name)!.set(piece, offset); // copies: the loader reuses the piece
    for (let i = offset; i < offset + piece.length; i++) {
      if (this.coverage![i]++) throw new Error(`byte ${i} of ${name} written twice`);
    }
    this.maxPiece.set(name, Math.max(this.maxPiece.get(name) ?? 0, piece.length));
  }

  end(weight: ManifestWeight): void {
    if (this.current !== weight) throw new Error(`end ${weight.name} without begin`);
    const missing = this.coverage!.indexOf(0);
    if (missing >= 0) throw new Error(`byte ${missing} of ${weight.name} never written`);
    this.current = null;
    this.events.push(`end ${weight.name}`);
  }
}
