package client

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"net/netip"
	"strconv"
	"strings"
)

// How the admin table spells an admin's trusted hosts and ADOMs [docs/upstream.md §1, from
// Fortinet's FortiAnalyzer Ansible schema of system admin user]: trusthost1..10 are
// "<ip> <mask>", ipv6_trusthost1..10 "<ip6>/<len>"; slot 1 defaults to any address
// (0.0.0.0 0.0.0.0, ::/0) and the others to none (255.255.255.255 255.255.255.255,
// ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128). An ADOM list is a list of {"adom-name": n}.

// The "any" and "none" values of the trusted-host slots. Values, never changed.
var (
	anyHost4  = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	noneHost4 = netip.PrefixFrom(netip.AddrFrom4([4]byte{255, 255, 255, 255}), 32)
	anyHost6  = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	noneHost6 = netip.PrefixFrom(netip.AddrFrom16([16]byte{
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), 128)
)

// trustHostSlots fills every trusted-host slot of both families: hosts in the first slots of
// theirs, "none" in the others.
func trustHostSlots(hosts []netip.Prefix) map[string]string {
	slots := make(map[string]string, 2*MaxTrustedHosts)
	var n4, n6 int
	for _, p := range hosts {
		if p.Addr().Is4() {
			n4++
			slots[host4Field(n4)] = formatHost4(p)
		} else {
			n6++
			slots[host6Field(n6)] = p.Masked().String()
		}
	}
	for i := n4 + 1; i <= MaxTrustedHosts; i++ {
		slots[host4Field(i)] = formatHost4(noneHost4)
	}
	for i := n6 + 1; i <= MaxTrustedHosts; i++ {
		slots[host6Field(i)] = noneHost6.String()
	}
	return slots
}

func host4Field(i int) string { return "trusthost" + strconv.Itoa(i) }
func host6Field(i int) string { return "ipv6_trusthost" + strconv.Itoa(i) }

// formatHost4 spells an IPv4 prefix "<ip> <mask>".
func formatHost4(p netip.Prefix) string {
	var m [4]byte
	binary.BigEndian.PutUint32(m[:], ^uint32(0)<<(32-p.Bits()))
	return p.Masked().Addr().String() + " " + netip.AddrFrom4(m).String()
}

// isAllADOMs reports whether an ADOM name stands for every ADOM: all_adoms, or "ALL ADOMS" as
// some releases list it [fortinet-apis §5], in any case, with spaces, _ or - between.
func isAllADOMs(name string) bool {
	words := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool { return r == ' ' || r == '_' || r == '-' })
	return len(words) == 2 && words[0] == "all" && words[1] == "adoms"
}

// adminFieldError is a field of an admin answer that cannot be read. Its text is fixed: the
// field's name, from the parser's own list, and what is wrong; no part of the answer.
type adminFieldError struct{ field, what string }

func (e *adminFieldError) Error() string { return e.field + ": " + e.what }

// Fixed texts of adminFieldError.
const (
	notObject   = "not an admin object"
	notString   = "not a string"
	missing     = "missing"
	notADOMList = "not a list of ADOM names"
	notHost4    = "not an IPv4 address and contiguous mask"
	notHost6    = "not an IPv6 prefix"
)

// ParseAdmin reads an admin as `get` on the admin table answers it (result[0].data): an object,
// or a list holding one. It reads leniently where Fortinet's clients show more than one shape:
// adom as a list of {"adom-name": n} or of names, or one name; trusthostN as "<ip> <mask>",
// "<ip>/<len>" or [ip, mask]. A trusted-host slot absent or null reads as the firmware's default
// (slot 1 any, the others none), so an answer without them reads as trusting any address. Any
// other shape is an error: the admin's rights would be unknown. Errors are fixed texts naming
// the field (see adminFieldError).
func ParseAdmin(data []byte) (*Admin, error) {
	obj, err := adminObject(data)
	if err != nil {
		return nil, err
	}
	a := &Admin{}
	for _, f := range []struct {
		name string
		to   *string
	}{{"userid", &a.Name}, {"profileid", &a.Profile}, {"adom-access", &a.ADOMAccess}, {"rpc-permit", &a.RPCPermit}} {
		if *f.to, err = stringField(obj, f.name); err != nil {
			return nil, err
		}
	}
	if a.Name == "" {
		return nil, &adminFieldError{"userid", missing}
	}
	if a.ADOMs, err = parseADOMs(obj["adom"]); err != nil {
		return nil, err
	}
	if a.TrustedHosts, err = parseTrustedHosts(obj); err != nil {
		return nil, err
	}
	return a, nil
}

// adminObject is data's one object, read in one decode. Numbers stay json.Number, which no
// field takes: as float64, one out of range (1e400) in any field would fail the whole answer.
func adminObject(data []byte) (map[string]any, error) {
	data = bytes.TrimSpace(data)
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.InputOffset() != int64(len(data)) {
		return nil, &adminFieldError{"admin", notObject}
	}
	if list, ok := v.([]any); ok && len(list) == 1 {
		v = list[0]
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &adminFieldError{"admin", notObject}
	}
	return obj, nil
}

// stringField reads a string field; absent or null is "".
func stringField(obj map[string]any, name string) (string, error) {
	switch v := obj[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	return "", &adminFieldError{name, notString}
}

// parseADOMs reads the adom field: a list of {"adom-name": n} or of names, or one name.
func parseADOMs(v any) ([]string, error) {
	switch v := v.(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, item := range v {
			name, ok := adomName(item)
			if !ok {
				return nil, &adminFieldError{"adom", notADOMList}
			}
			out = append(out, name)
		}
		return out, nil
	}
	return nil, &adminFieldError{"adom", notADOMList}
}

// adomName reads one item of an ADOM list: a name, {"adom-name": n}, or null, which reads as ""
// as it always has. The key is "adom-name" exactly: an item that spells it in another case is
// refused, where the decode into a struct this replaced matched any case; a stricter read fails
// safe, as a read-back that cannot be read deletes the admin. Of a key given twice the last
// counts, as for every field of the answer (the struct refused the item if any was not a string).
func adomName(item any) (string, bool) {
	const key = "adom-name"
	switch item := item.(type) {
	case nil:
		return "", true
	case string:
		return item, true
	case map[string]any:
		for k := range item {
			if k != key && strings.EqualFold(k, key) {
				return "", false
			}
		}
		name, ok := item[key].(string)
		return name, ok
	}
	return "", false
}

// parseTrustedHosts reads both families' slots, in slot order, without the "none" ones.
func parseTrustedHosts(obj map[string]any) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i := 1; i <= MaxTrustedHosts; i++ {
		p, err := parseHost4(obj[host4Field(i)], i)
		if err != nil {
			return nil, err
		}
		if p != noneHost4 {
			out = append(out, p)
		}
	}
	for i := 1; i <= MaxTrustedHosts; i++ {
		p, err := parseHost6(obj[host6Field(i)], i)
		if err != nil {
			return nil, err
		}
		if p != noneHost6 {
			out = append(out, p)
		}
	}
	return out, nil
}

// slotDefault is slot i's value when the answer leaves it out.
func slotDefault(i int, anyHost, none netip.Prefix) netip.Prefix {
	if i == 1 {
		return anyHost
	}
	return none
}

// parseHost4 reads trusthost<i>: "<ip> <mask>", "<ip>/<len>" or [ip, mask], masked.
func parseHost4(v any, i int) (netip.Prefix, error) {
	if v == nil {
		return slotDefault(i, anyHost4, noneHost4), nil
	}
	bad := func() (netip.Prefix, error) { return netip.Prefix{}, &adminFieldError{host4Field(i), notHost4} }
	var parts []string
	switch v := v.(type) {
	case string:
		parts = strings.Fields(v)
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return bad()
			}
			parts = append(parts, s)
		}
	default:
		return bad()
	}
	var p netip.Prefix
	switch len(parts) {
	case 1:
		var err error
		if p, err = netip.ParsePrefix(parts[0]); err != nil {
			return bad()
		}
	case 2:
		addr, err1 := netip.ParseAddr(parts[0])
		mask, err2 := netip.ParseAddr(parts[1])
		if err1 != nil || err2 != nil || !mask.Is4() {
			return bad()
		}
		m := binary.BigEndian.Uint32(mask.AsSlice())
		ones := bits.OnesCount32(m)
		if m != ^uint32(0)<<(32-ones) {
			return bad()
		}
		p = netip.PrefixFrom(addr, ones)
	default:
		return bad()
	}
	if !p.IsValid() || !p.Addr().Is4() {
		return bad()
	}
	return p.Masked(), nil
}

// parseHost6 reads ipv6_trusthost<i>: "<ip6>/<len>", masked.
func parseHost6(v any, i int) (netip.Prefix, error) {
	if v == nil {
		return slotDefault(i, anyHost6, noneHost6), nil
	}
	s, ok := v.(string)
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if !ok || err != nil || !p.Addr().Is6() || p.Addr().Zone() != "" {
		return netip.Prefix{}, &adminFieldError{host6Field(i), notHost6}
	}
	return p.Masked(), nil
}
