package crypto

import (
	"encoding/binary"
	"fmt"
	"io"
)

const (
	// ErrStreamTruncated means the stream ended before its final chunk, at a
	// chunk boundary or inside a frame.
	ErrStreamTruncated = Error("stream truncated")
	// ErrStreamCorrupt means the stream is not one a SealWriter wrote with
	// this aad: a chunk failed to open (tampering, reordering, a dropped
	// chunk, another aad), a frame header is invalid, or data follows the
	// final chunk.
	ErrStreamCorrupt = Error("stream corrupt")
	// ErrStreamClosed means Write was called after Close.
	ErrStreamClosed = Error("stream closed")
)

const (
	// ChunkSize is the plaintext size of every chunk but the last.
	ChunkSize = 64 << 10
	// maxSealOverhead is the most Keyring.Seal adds to a chunk: format byte, key
	// id length, key id, GCM nonce and GCM tag.
	maxSealOverhead = 2 + maxKeyIDLen + 12 + 16
	// maxFrameLen bounds the length a reader accepts, so a forged length
	// cannot make it allocate more than one chunk.
	maxFrameLen = ChunkSize + maxSealOverhead
	// frameHeaderLen is the length and the final flag.
	frameHeaderLen = 4 + 1
	// streamAADLabel separates chunk associated data from that of single
	// values, so a sealed field cannot pass for a chunk or the reverse.
	streamAADLabel = "deiops/stream/v1"
	flagMore       = 0
	flagFinal      = 1
)

// chunkAAD is the associated data of one chunk: label | index | final | aad.
// All but the caller's aad have fixed length, so the layout is unambiguous;
// one buffer serves every chunk of a stream.
type chunkAAD []byte

func newChunkAAD(aad []byte) chunkAAD {
	ad := make([]byte, 0, len(streamAADLabel)+8+1+len(aad))
	ad = append(ad, streamAADLabel...)
	ad = append(ad, make([]byte, 8+1)...)
	return append(ad, aad...)
}

func (ad chunkAAD) set(index uint64, flag byte) []byte {
	binary.BigEndian.PutUint64(ad[len(streamAADLabel):], index)
	ad[len(streamAADLabel)+8] = flag
	return ad
}

type sealWriter struct {
	w      io.Writer
	s      Sealer
	ad     chunkAAD
	buf    []byte // plaintext of the chunk being filled
	hdr    [frameHeaderLen]byte
	index  uint64
	err    error // sticky
	closed bool
}

// NewSealWriter returns a writer that seals what is written to it with s,
// bound to aad, and writes it to w as frames, one per chunk of plaintext:
//
//	length uint32 (big-endian, of the sealed chunk) | final byte (0 or 1) | s.Seal(chunk)
//
// It holds one chunk, so data of any size streams through. Every chunk but
// the last holds ChunkSize bytes; the last holds the rest, possibly nothing,
// and is flagged final. A chunk is sealed with its index and final flag
// bound on top of aad, so chunks cannot be reordered or dropped, nor the
// stream cut at a chunk boundary, without the reader failing. The flag is
// also in clear so the reader knows which associated data to check.
//
// Close writes the final chunk and must be called: without it a reader
// reports the stream as truncated. Close does not close w.
//
// aad should name the stream (for example AAD("import", id, path)): chunks
// of two streams sealed with the same aad and key can be exchanged
// undetected at equal indexes.
//
// The writer is not safe for concurrent use. After an error from w or s,
// every call returns that error.
func NewSealWriter(w io.Writer, s Sealer, aad []byte) io.WriteCloser {
	return &sealWriter{w: w, s: s, ad: newChunkAAD(aad), buf: make([]byte, 0, ChunkSize)}
}

func (sw *sealWriter) Write(p []byte) (int, error) {
	if sw.err != nil {
		return 0, sw.err
	}
	if sw.closed {
		return 0, fmt.Errorf("seal stream: write: %w", ErrStreamClosed)
	}
	n := 0
	for len(p) > 0 {
		// A full chunk is held until more data comes, since only then is it
		// known not to be the final one.
		if len(sw.buf) == ChunkSize {
			if err := sw.writeChunk(sw.buf, flagMore); err != nil {
				return n, err
			}
			sw.buf = sw.buf[:0]
		}
		if len(sw.buf) == 0 && len(p) > ChunkSize {
			// More than a chunk remains, so this one is not final: seal it
			// straight from p rather than copy it.
			if err := sw.writeChunk(p[:ChunkSize], flagMore); err != nil {
				return n, err
			}
			n += ChunkSize
			p = p[ChunkSize:]
			continue
		}
		c := copy(sw.buf[len(sw.buf):ChunkSize], p)
		sw.buf = sw.buf[:len(sw.buf)+c]
		n += c
		p = p[c:]
	}
	return n, nil
}

// Close seals what is buffered as the final chunk. Calling it again returns
// the first call's result.
func (sw *sealWriter) Close() error {
	if sw.closed || sw.err != nil {
		return sw.err
	}
	sw.closed = true
	if err := sw.writeChunk(sw.buf, flagFinal); err != nil {
		return err
	}
	sw.buf = nil
	return nil
}

func (sw *sealWriter) writeChunk(pt []byte, flag byte) error {
	ct, err := sw.s.Seal(pt, sw.ad.set(sw.index, flag))
	if err != nil {
		sw.err = fmt.Errorf("seal stream: chunk %d: %w", sw.index, err)
		return sw.err
	}
	if len(ct) > maxFrameLen {
		// A Sealer with more overhead than the keyring would write frames no
		// reader accepts; fail now rather than at read time.
		sw.err = fmt.Errorf("seal stream: chunk %d sealed to %d bytes, more than the %d a reader accepts", sw.index, len(ct), maxFrameLen)
		return sw.err
	}
	binary.BigEndian.PutUint32(sw.hdr[:4], uint32(len(ct)))
	sw.hdr[4] = flag
	if err := sw.write(sw.hdr[:]); err != nil {
		return err
	}
	if err := sw.write(ct); err != nil {
		return err
	}
	sw.index++
	return nil
}

func (sw *sealWriter) write(b []byte) error {
	n, err := sw.w.Write(b)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		sw.err = fmt.Errorf("seal stream: chunk %d: write: %w", sw.index, err)
	}
	return sw.err
}

type openReader struct {
	r     io.Reader
	s     Sealer
	ad    chunkAAD
	hdr   [frameHeaderLen]byte
	frame []byte // sealed chunk, reused
	plain []byte // unread plaintext of the current chunk
	index uint64
	final bool  // the final chunk has been opened
	err   error // sticky; io.EOF only after the final chunk
}

// NewOpenReader returns a reader of the plaintext of a stream written by a
// SealWriter with aad, opened with s (any key of a keyring). It holds one
// chunk, returns no plaintext of a chunk before the chunk is authenticated,
// and returns io.EOF only after the final chunk with nothing after it.
// Truncation is reported as ErrStreamTruncated, anything else wrong with the
// stream as ErrStreamCorrupt, which also wraps the error of s (ErrDecrypt,
// or ErrUnknownKey for a key no longer in the ring). Errors of r are
// wrapped as they are.
//
// A caller must not act on plaintext until the reader has returned io.EOF:
// a stream cut short yields a correct prefix before its error.
func NewOpenReader(r io.Reader, s Sealer, aad []byte) io.Reader {
	return &openReader{r: r, s: s, ad: newChunkAAD(aad)}
}

func (or *openReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(or.plain) == 0 {
		if or.err != nil {
			return 0, or.err
		}
		if or.final {
			or.err = io.EOF
		} else {
			or.err = or.next()
		}
	}
	n := copy(p, or.plain)
	or.plain = or.plain[n:]
	return n, nil
}

// next reads and opens one frame into or.plain.
func (or *openReader) next() error {
	if _, err := io.ReadFull(or.r, or.hdr[:]); err != nil {
		return or.readErr(err, true)
	}
	n := binary.BigEndian.Uint32(or.hdr[:4])
	flag := or.hdr[4]
	if flag != flagMore && flag != flagFinal {
		return fmt.Errorf("open stream: %w: chunk %d: bad flag %d", ErrStreamCorrupt, or.index, flag)
	}
	if n > maxFrameLen {
		return fmt.Errorf("open stream: %w: chunk %d: frame length %d exceeds %d", ErrStreamCorrupt, or.index, n, maxFrameLen)
	}
	if cap(or.frame) < int(n) {
		or.frame = make([]byte, n)
	}
	or.frame = or.frame[:n]
	if _, err := io.ReadFull(or.r, or.frame); err != nil {
		return or.readErr(err, false)
	}
	pt, err := or.s.Open(or.frame, or.ad.set(or.index, flag))
	if err != nil {
		// A forged key id looks like a retired key, so ErrUnknownKey is
		// corruption too; s's error stays matchable.
		return fmt.Errorf("open stream: %w: chunk %d: %w", ErrStreamCorrupt, or.index, err)
	}
	if flag == flagFinal {
		// Look for trailing data now, before the final plaintext is handed
		// out, so a reader of a known length sees the error too.
		var one [1]byte
		switch _, err := io.ReadFull(or.r, one[:]); {
		case err == nil:
			return fmt.Errorf("open stream: %w: data after the final chunk %d", ErrStreamCorrupt, or.index)
		case err != io.EOF:
			return fmt.Errorf("open stream: read after the final chunk: %w", err)
		}
		or.final = true
	}
	or.plain = pt
	or.index++
	return nil
}

func (or *openReader) readErr(err error, atBoundary bool) error {
	switch {
	case err == io.EOF && atBoundary:
		return fmt.Errorf("open stream: %w: ends before chunk %d with no final chunk", ErrStreamTruncated, or.index)
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return fmt.Errorf("open stream: %w: ends inside frame %d", ErrStreamTruncated, or.index)
	}
	return fmt.Errorf("open stream: chunk %d: read: %w", or.index, err)
}
