package client

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// adminParseTexts are every text an adminFieldError may carry after its field's name.
var adminParseTexts = map[string]bool{notObject: true, notString: true, missing: true, notADOMList: true, notHost4: true, notHost6: true}

// adminParseField reports whether field is one ParseAdmin reads.
func adminParseField(field string) bool {
	switch field {
	case "admin", "userid", "profileid", "adom-access", "rpc-permit", "adom":
		return true
	}
	for i := 1; i <= MaxTrustedHosts; i++ {
		if field == host4Field(i) || field == host6Field(i) {
			return true
		}
	}
	return false
}

func FuzzParseAdmin(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAdmin(data)
		// The parser it replaced gives the same answer, but for an ADOM item whose key is in
		// another case or given twice (see adomName), which one of them may refuse.
		ref, refErr := refParseAdmin(data)
		const adomRefused = "adom: " + notADOMList
		same := reflect.DeepEqual(a, ref) && errText(err) == errText(refErr)
		if !same && !(ambiguousADOMKeys(data) && (errText(err) == adomRefused || errText(refErr) == adomRefused)) {
			t.Fatalf("ParseAdmin = %+v, %v; the old parser %+v, %v", a, err, ref, refErr)
		}
		if err != nil {
			var fe *adminFieldError
			if a != nil || !errors.As(err, &fe) || !adminParseField(fe.field) || !adminParseTexts[fe.what] {
				t.Fatalf("ParseAdmin = %+v, %v: want no admin and a fixed text naming a field", a, err)
			}
			return
		}
		if a == nil || a.Name == "" || a.Password != "" {
			t.Fatalf("ParseAdmin = %+v", a)
		}
		var n4, n6 int
		for _, p := range a.TrustedHosts {
			if !p.IsValid() || p != p.Masked() || p == noneHost4 || p == noneHost6 {
				t.Fatalf("trusted host %v: invalid, not masked, or none", p)
			}
			if p.Addr().Is4() {
				n4++
			} else {
				n6++
			}
		}
		if n4 > MaxTrustedHosts || n6 > MaxTrustedHosts {
			t.Fatalf("%d IPv4 and %d IPv6 trusted hosts", n4, n6)
		}
		// What was read survives a round trip through the shape AddAdmin sends.
		canon := map[string]any{"userid": a.Name, "profileid": a.Profile, "adom-access": a.ADOMAccess, "rpc-permit": a.RPCPermit}
		adoms := make([]map[string]string, len(a.ADOMs))
		for i, d := range a.ADOMs {
			adoms[i] = map[string]string{"adom-name": d}
		}
		canon["adom"] = adoms
		for k, v := range trustHostSlots(a.TrustedHosts) {
			canon[k] = v
		}
		raw, err := json.Marshal(canon)
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseAdmin(raw)
		if err != nil || again.Name != a.Name || again.Profile != a.Profile || again.ADOMAccess != a.ADOMAccess ||
			again.RPCPermit != a.RPCPermit || !slices.Equal(again.ADOMs, a.ADOMs) ||
			!slices.EqualFunc(again.TrustedHosts, a.TrustedHosts, func(x, y netip.Prefix) bool { return x == y }) {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, a)
		}
	})
}

// ambiguousADOMKeys reports whether an item of data's ADOM list has a key that encoding/json
// would match to "adom-name" in another case, or has it twice.
func ambiguousADOMKeys(data []byte) bool {
	obj, err := refAdminObject(data)
	if err != nil {
		return false
	}
	var items []json.RawMessage
	if json.Unmarshal(obj["adom"], &items) != nil {
		return false
	}
	for _, item := range items {
		dec := json.NewDecoder(bytes.NewReader(item))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			continue
		}
		n := 0
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if k, _ := tok.(string); strings.EqualFold(k, "adom-name") {
				if n++; k != "adom-name" || n > 1 {
					return true
				}
			}
			var v json.RawMessage
			if dec.Decode(&v) != nil {
				break
			}
		}
	}
	return false
}
