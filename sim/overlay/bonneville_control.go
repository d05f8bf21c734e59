// The HTTP front of the Bonneville simulator: routes the SOAP methods that
// Bonneville serves itself, injects faults, latency and dropped connections on
// demand, counts calls by method, and serves a small control API under
// /bonneville/ for tests.

package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/ioutil"
	"math/rand"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// BonnevilleFaultRule makes calls of one SOAP method misbehave.
type BonnevilleFaultRule struct {
	// Method is the SOAP method name ("InstantClone_Task"), or "*" for all.
	Method string `json:"method"`
	// Rate is the chance, 0..1, that a call is hit. Default 1.
	Rate *float64 `json:"rate,omitempty"`
	// Fault is the vim fault type to answer with ("InvalidState"); a *_Task
	// method returns a task that fails with it, as vCenter does.
	Fault string `json:"fault,omitempty"`
	// Drop closes the connection without an answer.
	Drop bool `json:"drop,omitempty"`
	// LatencyMs delays every call of the method (hit or not).
	LatencyMs int `json:"latencyMs,omitempty"`
	// Count caps the number of hits; 0 means no cap.
	Count int `json:"count,omitempty"`
	// TaskDelayMs makes a *_Task call answer at once with its task, queued, and
	// do the work this long after (as vCenter does), instead of inside the call.
	// Every call of the method; InstantClone_Task and CloneVM_Task honour it.
	TaskDelayMs int `json:"taskDelayMs,omitempty"`
	// MissUpdates (with Method "WaitForUpdatesEx") makes the property
	// collector miss notifications: changes found while the rule holds are
	// taken as reported but never sent, as vCenter has missed them (vic #7098).
	// Count caps the polls that miss some.
	MissUpdates bool `json:"missUpdates,omitempty"`

	hits int
}

type bonnevilleFront struct {
	svc  *Service
	next http.Handler

	mu       sync.Mutex
	rules    map[string]*BonnevilleFaultRule
	calls    map[string]int64
	injected map[string]int64
	rng      *rand.Rand
}

var bonnevilleMethodName = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?Body[^>]*>\s*<(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)`)

// bonnevilleRouted are methods Bonneville serves itself, under a new name.
var bonnevilleRouted = map[string]string{
	"CloneVM_Task":    "BonnevilleCloneVM_Task",
	"ReconfigVM_Task": "BonnevilleReconfigVM_Task",
}

func init() {
	types.Add("BonnevilleCloneVM_Task", reflect.TypeOf((*types.CloneVM_Task)(nil)).Elem())
	types.Add("BonnevilleReconfigVM_Task", reflect.TypeOf((*types.ReconfigVM_Task)(nil)).Elem())
}

// bonnevilleInstalled is the front of the serving simulator (one per process).
var bonnevilleInstalled *bonnevilleFront

// bonnevilleTaskDelay is how long a *_Task call of method defers its work (0: none).
func bonnevilleTaskDelay(method string) time.Duration {
	f := bonnevilleInstalled
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if rule := f.rules[method]; rule != nil && rule.TaskDelayMs > 0 {
		return time.Duration(rule.TaskDelayMs) * time.Millisecond
	}
	return 0
}

// InstallBonneville puts the Bonneville front before the server's handler and
// starts the simulated guest agents. Call it before the first request.
func InstallBonneville(svc *Service, server *Server) {
	front := &bonnevilleFront{
		svc:      svc,
		next:     server.Config.Handler,
		rules:    map[string]*BonnevilleFaultRule{},
		calls:    map[string]int64{},
		injected: map[string]int64{},
		rng:      rand.New(rand.NewSource(time.Now().UnixNano())),
	}
	server.Config.Handler = front
	bonnevilleInstalled = front
	Map.AddHandler(bonnevilleGuests)
	bonnevilleStartTools()
	installBonnevilleTiming()
}

func (f *bonnevilleFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/bonneville/") {
		f.control(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/folder/") {
		f.serveDatastoreFile(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != Map.Path {
		f.next.ServeHTTP(w, r)
		return
	}
	body, err := ioutil.ReadAll(r.Body)
	_ = r.Body.Close()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	bonnevilleRecordRequest(body)
	method := ""
	if m := bonnevilleMethodName.FindSubmatch(body); m != nil {
		method = string(m[1])
	}

	rule, hit := f.decide(method)
	if rule != nil && rule.LatencyMs > 0 {
		time.Sleep(time.Duration(rule.LatencyMs) * time.Millisecond)
	}
	if hit && rule.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				f.delivered(method)
				return
			}
		}
	}
	if hit && rule.Fault != "" && f.authenticated(r) {
		if f.answerFault(w, method, rule.Fault, body) {
			f.delivered(method)
			return
		}
	}

	// vCenter serves only these without a session; the simulator is more lenient.
	if !bonnevilleAnonymous[method] && !f.authenticated(r) {
		f.answerSoapFault(w, method, &types.NotAuthenticated{}, "The session is not authenticated.")
		return
	}

	if f.bonnevilleRefuse(w, method, body) {
		return
	}
	routed, ok := bonnevilleRouted[method]
	if !ok {
		routed, ok = bonnevilleTimingRoute(method, body) // power-off and destroy under the timing model
	}
	if ok {
		body = bonnevilleRoutedTag(method).ReplaceAll(body, []byte("${1}"+routed))
	}
	r.Body = ioutil.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	f.next.ServeHTTP(w, r)
}

var bonnevilleAnonymous = map[string]bool{
	"RetrieveServiceContent":      true,
	"Login":                       true,
	"LoginByToken":                true,
	"LoginExtensionByCertificate": true,
	"CloneSession":                true,
	"":                            true, // not a SOAP call the front can name: let the simulator answer
}

var (
	bonnevilleTagMu sync.Mutex
	bonnevilleTags  = map[string]*regexp.Regexp{}
)

// bonnevilleRoutedTag matches the opening and closing tags of a routed method
// (compiled once per method, not per request).
func bonnevilleRoutedTag(method string) *regexp.Regexp {
	bonnevilleTagMu.Lock()
	defer bonnevilleTagMu.Unlock()
	re, ok := bonnevilleTags[method]
	if !ok {
		re = regexp.MustCompile(`(</?(?:[A-Za-z0-9_]+:)?)` + method + `\b`)
		bonnevilleTags[method] = re
	}
	return re
}

func (f *bonnevilleFront) decide(method string) (*BonnevilleFaultRule, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[method]++
	rule := f.rules[method]
	if rule == nil {
		rule = f.rules["*"]
	}
	if rule == nil || (rule.Fault == "" && !rule.Drop) {
		return rule, false
	}
	if rule.Count > 0 && rule.hits >= rule.Count {
		return rule, false
	}
	rate := 1.0
	if rule.Rate != nil {
		rate = *rule.Rate
	}
	if f.rng.Float64() >= rate {
		return rule, false
	}
	rule.hits++
	return rule, true
}

// delivered counts a fault (or dropped connection) the caller actually met. A hit on a call
// without a valid session is not one: that call is answered NotAuthenticated instead, as vCenter
// checks the session first, and the client sends it again once logged in. Counting only what was
// delivered lets a test demand that every injected fault surfaces.
func (f *bonnevilleFront) delivered(method string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injected[method]++
}

func (f *bonnevilleFront) authenticated(r *http.Request) bool {
	cookie, err := r.Cookie(soap.SessionCookieName)
	if err != nil {
		return false
	}
	_, ok := f.svc.sm.getSession(cookie.Value)
	return ok
}

func bonnevilleFault(name string) (types.BaseMethodFault, bool) {
	t, ok := types.TypeFunc()(name)
	if !ok {
		return nil, false
	}
	fault, ok := reflect.New(t).Interface().(types.BaseMethodFault)
	return fault, ok
}

// answerFault answers a hit call: a *_Task method gets a task that fails with
// the fault; any other method gets a SOAP fault.
func (f *bonnevilleFront) answerFault(w http.ResponseWriter, method, faultName string, body []byte) bool {
	fault, ok := bonnevilleFault(faultName)
	if !ok {
		return false
	}
	msg := fmt.Sprintf("%s failed: %s (injected by the Bonneville simulator)", method, faultName)
	if strings.HasSuffix(method, "_Task") {
		m, err := UnmarshalBody(Map.typeFunc, body)
		if err != nil || Map.Get(m.This) == nil {
			return false
		}
		task := CreateTask(m.This, strings.TrimSuffix(method, "_Task"), func(*Task) (types.AnyType, types.BaseMethodFault) {
			return nil, fault
		})
		ref := task.Run()
		Map.Update(task, []types.PropertyChange{{Name: "info.error", Val: types.LocalizedMethodFault{Fault: fault, LocalizedMessage: msg}}})
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		fmt.Fprintf(w, `%s<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><%sResponse xmlns="urn:vim25"><returnval type="Task">%s</returnval></%sResponse></soapenv:Body></soapenv:Envelope>`,
			xml.Header, method, ref.Value, method)
		return true
	}
	f.answerSoapFault(w, method, fault, msg)
	return true
}

// answerSoapFault writes a SOAP fault response carrying a vim fault.
func (f *bonnevilleFront) answerSoapFault(w http.ResponseWriter, method string, fault types.BaseMethodFault, msg string) {
	var out bytes.Buffer
	fmt.Fprint(&out, xml.Header)
	_ = xml.NewEncoder(&out).Encode(&soapEnvelope{
		Enc: "http://schemas.xmlsoap.org/soap/encoding/",
		Env: "http://schemas.xmlsoap.org/soap/envelope/",
		XSD: "http://www.w3.org/2001/XMLSchema",
		XSI: "http://www.w3.org/2001/XMLSchema-instance",
		Body: struct{ Fault *soapFault }{&soapFault{
			Code:   "ServerFaultCode",
			String: msg,
			Detail: struct{ Fault *faultDetail }{&faultDetail{fault}},
		}},
	})
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write(out.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *bonnevilleFront) control(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/bonneville/faults" && r.Method == http.MethodPost:
		var rule BonnevilleFaultRule
		if err := json.NewDecoder(r.Body).Decode(&rule); err != nil || rule.Method == "" {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a fault rule needs a method"})
			return
		}
		if rule.Fault != "" {
			if _, ok := bonnevilleFault(rule.Fault); !ok {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": "unknown vim fault " + rule.Fault})
				return
			}
		}
		f.mu.Lock()
		f.rules[rule.Method] = &rule
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, rule)
	case r.URL.Path == "/bonneville/faults" && r.Method == http.MethodDelete:
		f.mu.Lock()
		f.rules = map[string]*BonnevilleFaultRule{}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]bool{"cleared": true})
	case r.URL.Path == "/bonneville/sessions/expire" && r.Method == http.MethodPost:
		sessionMutex.Lock()
		n := len(f.svc.sm.sessions)
		for k := range f.svc.sm.sessions {
			delete(f.svc.sm.sessions, k)
		}
		sessionMutex.Unlock()
		writeJSON(w, http.StatusOK, map[string]int{"expired": n})
	case r.URL.Path == "/bonneville/stats" && r.Method == http.MethodGet:
		f.mu.Lock()
		calls := map[string]int64{}
		injected := map[string]int64{}
		for k, v := range f.calls {
			calls[k] = v
		}
		for k, v := range f.injected {
			injected[k] = v
		}
		f.mu.Unlock()
		sessionMutex.Lock()
		sessions := len(f.svc.sm.sessions)
		sessionMutex.Unlock()
		writeJSON(w, http.StatusOK, map[string]interface{}{"calls": calls, "injected": injected, "sessions": sessions})
	case r.URL.Path == "/bonneville/stats/reset" && r.Method == http.MethodPost:
		f.mu.Lock()
		f.calls = map[string]int64{}
		f.injected = map[string]int64{}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
	case r.URL.Path == "/bonneville/guest/rpc" && r.Method == http.MethodPost:
		bonnevilleGuestControl(w, r)
	case strings.HasPrefix(r.URL.Path, "/bonneville/requests"):
		bonnevilleRequestsControl(w, r)
	case r.URL.Path == "/bonneville/modes":
		bonnevilleModesControl(w, r)
	case r.URL.Path == "/bonneville/netns" && r.Method == http.MethodGet:
		bonnevilleNetnsControl(w, r)
	case r.URL.Path == "/bonneville/inventory" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, bonnevilleInventory())
	case bonnevilleTimingControl(w, r):
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such control endpoint: " + r.Method + " " + r.URL.Path})
	}
}

type bonnevilleInventoryVM struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Template    bool              `json:"template"`
	PowerState  string            `json:"powerState"`
	Host        string            `json:"host"`
	Pool        string            `json:"pool"`
	Folder      string            `json:"folder"`
	Networks    []string          `json:"networks"`
	ExtraConfig map[string]string `json:"extraConfig"`
	IPAddress   string            `json:"ipAddress"`
}

type bonnevilleInventoryEntity struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

func bonnevilleInventory() map[string]interface{} {
	var vms []bonnevilleInventoryVM
	for _, e := range Map.All("VirtualMachine") {
		vm := e.(*VirtualMachine)
		Map.WithLock(vm, func() {
			item := bonnevilleInventoryVM{ID: vm.Self.Value, Name: vm.Name, ExtraConfig: map[string]string{}, Networks: []string{}}
			if vm.Config != nil {
				item.Template = vm.Config.Template
				for _, o := range vm.Config.ExtraConfig {
					ov := o.GetOptionValue()
					if strings.HasPrefix(ov.Key, "bonneville.") || strings.HasPrefix(ov.Key, "guestinfo.") {
						item.ExtraConfig[ov.Key] = fmt.Sprint(ov.Value)
					}
				}
			}
			item.PowerState = string(vm.Runtime.PowerState)
			if vm.Runtime.Host != nil {
				item.Host = vm.Runtime.Host.Value
			}
			if vm.ResourcePool != nil {
				item.Pool = vm.ResourcePool.Value
			}
			if vm.Parent != nil {
				item.Folder = vm.Parent.Value
			}
			for _, n := range vm.Network {
				item.Networks = append(item.Networks, n.Value)
			}
			if vm.Guest != nil {
				item.IPAddress = vm.Guest.IpAddress
			}
			vms = append(vms, item)
		})
	}
	sort.Slice(vms, func(i, j int) bool { return vms[i].ID < vms[j].ID })
	entities := func(kind string) []bonnevilleInventoryEntity {
		var out []bonnevilleInventoryEntity
		for _, e := range Map.All(kind) {
			me := e.Entity()
			item := bonnevilleInventoryEntity{ID: me.Self.Value, Name: me.Name}
			if me.Parent != nil {
				item.Parent = me.Parent.Value
			}
			out = append(out, item)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
		return out
	}
	return map[string]interface{}{
		"virtualMachines": vms,
		"portGroups":      entities("DistributedVirtualPortgroup"),
		"resourcePools":   entities("ResourcePool"),
		"folders":         entities("Folder"),
		"hosts":           entities("HostSystem"),
	}
}
