package crypto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

var streamAAD = AAD("import", "imp-1", "staff.csv")

// streamPlaintext is n bytes that do not repeat with the chunk size, so a
// chunk served in another place reads differently.
func streamPlaintext(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// sealStream writes pt in writes of the given sizes, cycling through them.
func sealStream(t testing.TB, s Sealer, aad, pt []byte, sizes ...int) []byte {
	t.Helper()
	if len(sizes) == 0 {
		sizes = []int{len(pt)}
	}
	var out bytes.Buffer
	w := NewSealWriter(&out, s, aad)
	for i := 0; len(pt) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(pt))
		if _, err := w.Write(pt[:n]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		pt = pt[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return out.Bytes()
}

func openStream(s Sealer, aad, ct []byte) ([]byte, error) {
	return io.ReadAll(NewOpenReader(bytes.NewReader(ct), s, aad))
}

// frameOffsets returns where each frame starts, and the stream's length last.
func frameOffsets(t *testing.T, ct []byte) []int {
	t.Helper()
	var offs []int
	for off := 0; off < len(ct); off += frameHeaderLen + int(binary.BigEndian.Uint32(ct[off:])) {
		offs = append(offs, off)
	}
	return append(offs, len(ct))
}

func TestStreamRoundTrip(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	sizes := []int{0, 1, ChunkSize - 1, ChunkSize, ChunkSize + 1, 3*ChunkSize + 17}
	writes := []struct {
		name  string
		sizes []int
	}{
		{"one write", nil},
		{"1 byte", []int{1}},
		{"7 bytes", []int{7}},
		{"100 KiB", []int{100 << 10}},
		{"mixed", []int{1, 100 << 10, 7, ChunkSize}},
	}
	reads := []struct {
		name string
		read func(ct []byte) ([]byte, error)
	}{
		{"ReadAll", func(ct []byte) ([]byte, error) { return openStream(k, streamAAD, ct) }},
		{"one byte at a time", func(ct []byte) ([]byte, error) {
			return io.ReadAll(iotest.OneByteReader(NewOpenReader(bytes.NewReader(ct), k, streamAAD)))
		}},
		{"source one byte at a time", func(ct []byte) ([]byte, error) {
			return io.ReadAll(NewOpenReader(iotest.OneByteReader(bytes.NewReader(ct)), k, streamAAD))
		}},
	}
	for _, size := range sizes {
		pt := streamPlaintext(size)
		wantFrames := max(1, (size+ChunkSize-1)/ChunkSize)
		for _, wr := range writes {
			ct := sealStream(t, k, streamAAD, pt, wr.sizes...)
			if got := len(frameOffsets(t, ct)) - 1; got != wantFrames {
				t.Errorf("size %d, %s: %d frames, want %d", size, wr.name, got, wantFrames)
			}
			for _, rd := range reads {
				got, err := rd.read(ct)
				if err != nil {
					t.Fatalf("size %d, %s, %s: %v", size, wr.name, rd.name, err)
				}
				if !bytes.Equal(got, pt) {
					t.Fatalf("size %d, %s, %s: got %d bytes, not the plaintext", size, wr.name, rd.name, len(got))
				}
			}
		}
		if err := iotest.TestReader(NewOpenReader(bytes.NewReader(sealStream(t, k, streamAAD, pt)), k, streamAAD), pt); err != nil {
			t.Errorf("size %d: %v", size, err)
		}
	}
}

func TestStreamHidesPlaintext(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	pt := []byte(strings.Repeat(canary+" ", 3*ChunkSize/len(canary)))
	ct := sealStream(t, k, streamAAD, pt, 1000)
	if bytes.Contains(ct, []byte(canary)) || bytes.Contains(ct, []byte("CANARY")) {
		t.Fatal("sealed stream contains plaintext")
	}
}

func TestStreamTruncation(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	pt := streamPlaintext(3*ChunkSize + 17)
	ct := sealStream(t, k, streamAAD, pt)
	offs := frameOffsets(t, ct)
	var cuts []int
	for i, off := range offs[:len(offs)-1] {
		end := offs[i+1]
		cuts = append(cuts, off, off+1, off+frameHeaderLen-1, off+frameHeaderLen, off+frameHeaderLen+2, (off+end)/2, end-1)
	}
	for _, cut := range cuts {
		got, err := openStream(k, streamAAD, ct[:cut])
		if !errors.Is(err, ErrStreamTruncated) {
			t.Fatalf("cut at %d of %d: %v, want ErrStreamTruncated", cut, len(ct), err)
		}
		if len(got)%ChunkSize != 0 || !bytes.Equal(got, pt[:len(got)]) {
			t.Fatalf("cut at %d: returned %d bytes that are not whole chunks of the plaintext", cut, len(got))
		}
	}
	// Also when the source reports io.EOF together with its last bytes.
	r := NewOpenReader(iotest.DataErrReader(bytes.NewReader(ct[:offs[2]])), k, streamAAD)
	if _, err := io.ReadAll(r); !errors.Is(err, ErrStreamTruncated) {
		t.Fatalf("cut at a boundary, EOF with data: %v, want ErrStreamTruncated", err)
	}
}

func TestStreamRejectsRearrangedFrames(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	ct := sealStream(t, k, streamAAD, streamPlaintext(3*ChunkSize+17))
	offs := frameOffsets(t, ct)
	frame := func(i int) []byte { return ct[offs[i]:offs[i+1]] }
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// The first frame relabelled final: a cut at a chunk boundary that claims
	// to be complete.
	cutFinal := bytes.Clone(frame(0))
	cutFinal[4] = flagFinal
	other := sealStream(t, k, streamAAD, []byte("another stream"))

	tests := []struct {
		name string
		ct   []byte
		want error
	}{
		{"middle frame dropped", join(frame(0), frame(2), frame(3)), ErrDecrypt},
		{"frames swapped", join(frame(1), frame(0), frame(2), frame(3)), ErrDecrypt},
		{"frame repeated", join(frame(0), frame(0), frame(1), frame(2), frame(3)), ErrDecrypt},
		{"cut and flagged final", cutFinal, ErrDecrypt},
		{"frame after the final one", join(ct, frame(1)), ErrStreamCorrupt},
		{"a final frame after the final one", join(ct, other), ErrStreamCorrupt},
		{"one byte after the final frame", join(ct, []byte{0}), ErrStreamCorrupt},
		{"bad flag", join(frame(0)[:4], []byte{2}, frame(0)[5:]), ErrStreamCorrupt},
		{"empty frame", []byte{0, 0, 0, 0, flagFinal}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openStream(k, streamAAD, tt.ct)
			if !errors.Is(err, ErrStreamCorrupt) || !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want ErrStreamCorrupt and %v", err, tt.want)
			}
		})
	}
}

func TestStreamRejectsBitFlips(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	check := func(t *testing.T, ct []byte, byteAt int) {
		t.Helper()
		for bit := range 8 {
			ct[byteAt] ^= 1 << bit
			_, err := io.Copy(io.Discard, NewOpenReader(bytes.NewReader(ct), k, streamAAD))
			ct[byteAt] ^= 1 << bit
			if !errors.Is(err, ErrStreamCorrupt) && !errors.Is(err, ErrStreamTruncated) {
				t.Fatalf("flipping bit %d of byte %d of %d: %v", bit, byteAt, len(ct), err)
			}
		}
	}
	t.Run("every bit of a small stream", func(t *testing.T) {
		for _, size := range []int{0, 100} {
			ct := sealStream(t, k, streamAAD, streamPlaintext(size))
			for i := range ct {
				check(t, ct, i)
			}
		}
	})
	t.Run("headers, tags and a sample of two chunks", func(t *testing.T) {
		ct := sealStream(t, k, streamAAD, streamPlaintext(ChunkSize+1))
		offs := frameOffsets(t, ct)
		hdr := frameHeaderLen + 2 + len("k1") + 12 // frame header, key header, nonce
		for i, off := range offs[:len(offs)-1] {
			end := offs[i+1]
			for j := off; j < end; j++ {
				if j < off+hdr || j >= end-16 || (j-off)%1021 == 0 {
					check(t, ct, j)
				}
			}
		}
	})
}

func TestStreamRejectsWrongAAD(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	ct := sealStream(t, k, streamAAD, streamPlaintext(ChunkSize+1))
	for _, aad := range [][]byte{nil, AAD("import", "imp-2", "staff.csv"), AAD("import", "imp-1", "staff.csv", "")} {
		if _, err := openStream(k, aad, ct); !errors.Is(err, ErrStreamCorrupt) || !errors.Is(err, ErrDecrypt) {
			t.Errorf("aad %q: %v, want ErrStreamCorrupt and ErrDecrypt", aad, err)
		}
	}
	// A single sealed value is not a stream, even with the stream's aad.
	single, err := k.Seal([]byte("x"), streamAAD)
	if err != nil {
		t.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(single)))
	frame = append(append(frame, flagFinal), single...)
	if _, err := openStream(k, streamAAD, frame); !errors.Is(err, ErrDecrypt) {
		t.Errorf("sealed value framed as a stream: %v, want ErrDecrypt", err)
	}
}

func TestStreamRotation(t *testing.T) {
	old := mustKeyring(t, "k1:"+testKey(1))
	rotated := mustKeyring(t, "k2:"+testKey(2)+",k1:"+testKey(1))
	retired := mustKeyring(t, "k2:"+testKey(2))
	pt := streamPlaintext(2*ChunkSize + 5)

	oldCT := sealStream(t, old, streamAAD, pt)
	if got, err := openStream(rotated, streamAAD, oldCT); err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("old stream after rotation: %d bytes, %v", len(got), err)
	}
	newCT := sealStream(t, rotated, streamAAD, pt)
	for _, off := range frameOffsets(t, newCT)[:3] {
		if id, err := KeyID(newCT[off+frameHeaderLen:]); err != nil || id != "k2" {
			t.Fatalf("frame at %d sealed with key %q (%v), want k2", off, id, err)
		}
	}
	_, err := openStream(retired, streamAAD, oldCT)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old stream after retiring k1: %v, want ErrUnknownKey", err)
	}
}

// failReader fails the test if the reader reads past the header it was given.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("reader read the body of a frame with an invalid length")
	return 0, io.ErrUnexpectedEOF
}

func TestStreamRejectsHugeFrame(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	for _, n := range []uint32{maxFrameLen + 1, 1 << 31, 1<<32 - 1} {
		hdr := append(binary.BigEndian.AppendUint32(nil, n), flagFinal)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := io.ReadAll(NewOpenReader(io.MultiReader(bytes.NewReader(hdr), failReader{t}), k, streamAAD))
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrStreamCorrupt) || !strings.Contains(err.Error(), "frame length") {
			t.Errorf("length %d: %v, want ErrStreamCorrupt naming the frame length", n, err)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > ChunkSize {
			t.Errorf("length %d: allocated %d bytes", n, grew)
		}
	}
}

func TestSealWriterClose(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	var out closeRecorder
	w := NewSealWriter(&out, k, streamAAD)
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if out.closed {
		t.Error("Close closed the underlying writer")
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	written := out.Len()
	if n, err := w.Write([]byte("d")); n != 0 || !errors.Is(err, ErrStreamClosed) {
		t.Errorf("Write after Close = %d, %v; want 0, ErrStreamClosed", n, err)
	}
	if out.Len() != written {
		t.Error("Write after Close wrote to the underlying writer")
	}
	if got, err := openStream(k, streamAAD, out.Bytes()); err != nil || string(got) != "abc" {
		t.Errorf("stream = %q, %v", got, err)
	}
}

type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// limitWriter accepts limit bytes, then fails (or, if short, writes less
// than asked without an error).
type limitWriter struct {
	limit, written, calls int
	short                 bool
}

var errDiskFull = errors.New("disk full")

func (l *limitWriter) Write(p []byte) (int, error) {
	l.calls++
	n := min(len(p), l.limit-l.written)
	l.written += n
	if n < len(p) && !l.short {
		return n, errDiskFull
	}
	return n, nil
}

func TestSealWriterErrorsAreSticky(t *testing.T) {
	k := mustKeyring(t, "k1:"+testKey(1))
	pt := streamPlaintext(3 * ChunkSize)
	tests := []struct {
		name string
		w    *limitWriter
		want error
	}{
		{"fails on the first frame", &limitWriter{limit: 3}, errDiskFull},
		{"fails on the second frame", &limitWriter{limit: ChunkSize + 100}, errDiskFull},
		{"fails on Close", &limitWriter{limit: 3*ChunkSize - 10}, errDiskFull},
		{"short write", &limitWriter{limit: ChunkSize + 100, short: true}, io.ErrShortWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewSealWriter(tt.w, k, streamAAD)
			_, werr := w.Write(pt)
			cerr := w.Close()
			first := werr
			if first == nil {
				first = cerr
			}
			if !errors.Is(first, tt.want) {
				t.Fatalf("Write: %v, Close: %v; want %v", werr, cerr, tt.want)
			}
			calls := tt.w.calls
			if _, err := w.Write([]byte("x")); !errors.Is(err, tt.want) {
				t.Errorf("Write after the failure: %v, want %v", err, tt.want)
			}
			if err := w.Close(); !errors.Is(err, tt.want) {
				t.Errorf("Close after the failure: %v, want %v", err, tt.want)
			}
			if tt.w.calls != calls {
				t.Error("the writer was used again after it failed")
			}
		})
	}
}

// errSealer fails every Seal.
type errSealer struct{ Sealer }

func (errSealer) Seal([]byte, []byte) ([]byte, error) { return nil, ErrInvalidKeyring }

func TestSealWriterSealError(t *testing.T) {
	var out bytes.Buffer
	w := NewSealWriter(&out, errSealer{}, streamAAD)
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatalf("Write of less than a chunk: %v", err)
	}
	if err := w.Close(); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("Close: %v, want the Sealer's error", err)
	}
	if out.Len() != 0 {
		t.Error("wrote a frame that failed to seal")
	}
}

const benchStreamSize = 64 << 20

func BenchmarkSealStream(b *testing.B) {
	k, _, err := GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	pt := streamPlaintext(benchStreamSize)
	b.SetBytes(benchStreamSize)
	for b.Loop() {
		w := NewSealWriter(io.Discard, k, streamAAD)
		for p := pt; len(p) > 0; p = p[1<<20:] {
			if _, err := w.Write(p[:1<<20]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenStream(b *testing.B) {
	k, _, err := GenerateKeyring()
	if err != nil {
		b.Fatal(err)
	}
	ct := sealStream(b, k, streamAAD, streamPlaintext(benchStreamSize))
	b.SetBytes(benchStreamSize)
	for b.Loop() {
		n, err := io.Copy(io.Discard, NewOpenReader(bytes.NewReader(ct), k, streamAAD))
		if err != nil || n != benchStreamSize {
			b.Fatalf("read %d bytes: %v", n, err)
		}
	}
}
