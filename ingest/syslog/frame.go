package syslog

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// errDesync means an octet-counted stream lost its framing: what follows
// cannot be split into messages, so the connection is closed.
var errDesync = errors.New("syslog: octet-counting framing lost")

// frame is one message as read off a stream. problem is "" for a complete
// message within the size limit; otherwise data is what was kept (at most
// the limit) and problem says why the message is incomplete.
type frame struct {
	data     []byte
	size     int64 // the message's full size in bytes
	oversize bool  // size > the limit; data is a prefix
	problem  string
}

// frameReader splits a TCP or TLS stream into messages. The first byte of
// the stream picks the framing for the whole connection (RFC 6587 §3.4): a
// digit means octet counting ("LEN SP MSG", RFC 6587 §3.4.1, RFC 5425 §4.3),
// anything else LF-delimited ("MSG LF", §3.4.2), which also accepts CR LF
// and a last message without LF.
type frameReader struct {
	r        *bufio.Reader
	max      int
	detected bool
	octet    bool
}

func newFrameReader(r io.Reader, max int) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, 64<<10), max: max}
}

// next returns the next message, and the error that ended the stream once
// it ends; a frame returned with an error is the stream's last (it is
// empty when the stream ended between messages). io.EOF is a clean end:
// an LF-delimited stream's last line needs no LF, so its bytes are a
// complete message. A stream that ends inside a message otherwise returns
// that message's bytes with a problem: an octet-counted message cut short
// (io.ErrUnexpectedEOF), a bad octet count (errDesync), any other read
// error. The caller reports its own closing of the stream (shutdown, idle
// timeout) as io.EOF, so that a message framed the same way is mapped the
// same way whoever ended the stream. Empty LF-delimited lines are skipped.
func (f *frameReader) next() (frame, error) {
	if !f.detected {
		b, err := f.r.Peek(1)
		if err != nil {
			return frame{}, err
		}
		f.detected = true
		f.octet = b[0] >= '0' && b[0] <= '9'
	}
	if f.octet {
		return f.nextOctet()
	}
	for {
		fr, err := f.nextLine()
		if err == nil && fr.size == 0 {
			continue
		}
		return fr, err
	}
}

// maxLenDigits bounds MSG-LEN: ten digits are more than any limit.
const maxLenDigits = 10

func (f *frameReader) nextOctet() (frame, error) {
	var header []byte
	length := int64(0)
	for {
		c, err := f.r.ReadByte()
		if err != nil {
			if len(header) == 0 && err == io.EOF {
				return frame{}, io.EOF
			}
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return frame{data: header, size: int64(len(header)), problem: "connection closed inside an octet count"}, err
		}
		if c == ' ' && len(header) > 0 {
			break
		}
		header = append(header, c)
		if c < '0' || c > '9' || len(header) > maxLenDigits || header[0] == '0' {
			return frame{data: header, size: int64(len(header)),
				problem: fmt.Sprintf("octet counting: bad MSG-LEN %q (RFC 6587 §3.4.1)", header)}, errDesync
		}
		length = length*10 + int64(c-'0')
	}
	keep := length
	if keep > int64(f.max) {
		keep = int64(f.max)
	}
	fr := frame{data: make([]byte, keep), size: length, oversize: length > int64(f.max)}
	n, err := io.ReadFull(f.r, fr.data)
	if err == nil && fr.oversize {
		var skipped int64
		skipped, err = io.CopyN(io.Discard, f.r, length-keep)
		n += int(skipped)
	}
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if int64(n) < keep {
			fr.data = fr.data[:n]
		}
		fr.problem = fmt.Sprintf("connection closed after %d of %d bytes of a message", n, length)
		return fr, err
	}
	return fr, nil
}

func (f *frameReader) nextLine() (frame, error) {
	var fr frame
	var tail [2]byte // the line's last two bytes so far: its LF or CR LF, if any
	for {
		chunk, err := f.r.ReadSlice('\n')
		fr.size += int64(len(chunk))
		if room := f.max + 2 - len(fr.data); room > 0 { // +2: the CR LF trimmed below
			fr.data = append(fr.data, chunk[:min(room, len(chunk))]...)
		}
		for _, c := range chunk[max(0, len(chunk)-2):] {
			tail = [2]byte{tail[1], c}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		// A complete line, or the stream's last bytes: without LF at its
		// end (io.EOF), cut by a failure otherwise. The terminator is not
		// part of the message, nor of its size, even when the message is
		// oversized and data only a prefix.
		end := int64(0)
		if fr.size > 0 && tail[1] == '\n' {
			end = 1
		}
		if fr.size > end && tail[1-end] == '\r' {
			end++
		}
		fr.size -= end
		fr.data = fr.data[:min(int64(len(fr.data)), fr.size)]
		if fr.size > int64(f.max) {
			fr.oversize = true
			fr.data = fr.data[:f.max]
		}
		if err != nil && err != io.EOF && fr.size > 0 {
			fr.problem = "connection failed inside a message"
		}
		return fr, err
	}
}
