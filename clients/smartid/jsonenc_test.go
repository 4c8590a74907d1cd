package smartid

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

// stdJSON is encoding/json's output without HTML escaping: the reference
// appendString and appendFloat must match byte for byte.
func stdJSON(t testing.TB, v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

var stringSeeds = []string{
	"", "jlopez", `quote " and \ backslash`, "tab\tnl\ncr\r", "\b\f", "\x00\x01\x1f\x7f",
	"ñandú 日本 🙂", "bad \xff utf8 \xc3", "line\u2028para\u2029", "<script>&</script>",
	"ujOmfzNv5l/1SW+clQ==",
}

func FuzzAppendStringMatchesEncodingJSON(f *testing.F) {
	for _, s := range stringSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		if want := stdJSON(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func FuzzAppendFloatMatchesEncodingJSON(f *testing.F) {
	for _, v := range []float64{0, math.Copysign(0, -1), 10.5, 0.1, 1e-7, 1.5e-7, 123456789.125, 1e20, 1e21, 1.7976931348623157e308, -42.42, 5e-324} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Skip("not encodable; Enqueue rejects it")
		}
		got := appendFloat(nil, v)
		if want := stdJSON(t, v); !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", v, got, want)
		}
	})
}

func TestAppendStringMapSortedAndEscaped(t *testing.T) {
	m := map[string]string{"z": "1", "a\"": "x\ny", "m": ""}
	got := appendStringMap(nil, m)
	if want := stdJSON(t, m); !bytes.Equal(got, want) {
		t.Errorf("appendStringMap = %s, want %s", got, want)
	}
	if got := appendStringMap(nil, nil); string(got) != "{}" {
		t.Errorf("nil map = %s, want {}", got)
	}
}

// TestLoginBodyRoundTrip checks that awkward user values survive the trip
// through the hand-written encoder into a standard decoder.
func TestLoginBodyRoundTrip(t *testing.T) {
	for _, s := range stringSeeds {
		if s == "" {
			continue
		}
		b, err := Login{User: s, Session: s, PublicIP: testIP, Data: s}.appendJSON(nil, 7)
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			ChannelID int `json:"channelId"`
			User      string
			Session   string
			PublicIP  string `json:"publicIp"`
			Data      string
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v: %s", s, err, b)
		}
		want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD")))
		if got.ChannelID != 7 || got.User != want || got.Session != want || got.Data != want || got.PublicIP != testIP.String() {
			t.Errorf("%q: decoded %+v", s, got)
		}
	}
}

// TestPlainWordMatchesTable: the word-at-a-time test agrees with the
// byte table on every byte value in every position.
func TestPlainWordMatchesTable(t *testing.T) {
	base := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			w := append([]byte(nil), base...)
			w[pos] = byte(c)
			want := c < utf8.RuneSelf && plainASCII[c]
			if got := plainWord(binary.LittleEndian.Uint64(w)); got != want {
				t.Fatalf("byte %#x at %d: plainWord %v, table %v", c, pos, got, want)
			}
		}
	}
}
