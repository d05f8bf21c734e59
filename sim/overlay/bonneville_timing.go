// A vCenter timing model for the Bonneville simulator. Off by default (tests
// and `make test` run without it: the simulator then does a task's work inside
// the call); the benchmark turns it on (BONNEVILLE_SIM_TIMING=vcenter, or
// POST /bonneville/timing with its own figures). With the model on:
//
//   - InstantClone_Task, and PowerOffVM_Task and Destroy_Task on a virtual
//     machine, answer at once with a task in state `queued`, as vCenter does,
//     and do their work later;
//   - vCenter runs at most VCenterTasks of them at once; the rest stay queued
//     (in arrival order) until one ends;
//   - an instant clone also needs one of PerHost provisioning slots on its
//     source's host, and waits queued for one;
//   - each operation then takes a time drawn around its median (log-normal);
//   - a fork's guest reports its address and then its container running after
//     delays of their own.
//
// Sources of each figure are in the comments of bonnevilleTimingDefaults;
// where no VMware document gives a figure, the comment says so.

package simulator

import (
	"encoding/json"
	"math"
	"math/rand"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// BonnevilleTiming is the model's figures. Durations are medians in
// milliseconds; Spread is the log-normal sigma applied to each draw.
type BonnevilleTiming struct {
	// CloneMs: one instant clone, from the moment it runs on its host to its end.
	CloneMs float64 `json:"cloneMs"`
	// PerHost: provisioning operations one ESXi host runs at once.
	PerHost int `json:"perHost"`
	// VCenterTasks: operations vCenter runs at once before it queues more.
	VCenterTasks int `json:"vcenterTasks"`
	// PowerOffMs, DestroyMs: a hard power-off, and the destruction of a powered-off VM.
	PowerOffMs float64 `json:"powerOffMs"`
	DestroyMs  float64 `json:"destroyMs"`
	// ToolsAddressMs: from a fork's power-on to VMware Tools publishing its new address.
	ToolsAddressMs float64 `json:"toolsAddressMs"`
	// AgentStartMs: from the address to the guest agent reporting its container running.
	AgentStartMs float64 `json:"agentStartMs"`
	// Spread: sigma of the log-normal around each median (0: every draw is the median).
	Spread float64 `json:"spread"`
}

// bonnevilleTimingDefaults is the model as the benchmark runs it.
//
//   - CloneMs 1000: DESIGN.md and VMware's instant clone material put a fork at
//     "about a second"; the vSphere 6.7/7 programming guide ("How the Instant
//     Clone Operation Works", "Limitations of Instant Clones") describes the
//     steps and says the operation is partly parallel, partly serialized, but
//     gives no duration. The figure is therefore an assumption, not a
//     documented value, and so is the spread (Spread 0.25: no VMware document
//     gives the distribution; a log-normal with sigma 0.25 puts 95 % of clones
//     between 0.6 and 1.6 s).
//   - PerHost 8: vCenter Server and Host Management (6.5/6.7), "Limits on
//     Simultaneous Migrations": every host has a maximum cost of 8; "other
//     provisioning operations" (cloning, deployment, cold migration) cost 1,
//     a derived limit of 8 per host; an operation beyond it "is queued until
//     other operations complete". That table does not name instant clone; the
//     model treats it as a provisioning operation (not documented). VMware's
//     performance blog "vCenter Limits for Tasks Running at the Same Time"
//     (2021) gives ESXi 6.x/7.x hosts 16 units with costs per operation type;
//     it does not give an instant clone's cost either.
//   - VCenterTasks 640: the same blog: "vCenter can execute approximately 640
//     concurrent operations before incoming requests are queued".
//   - PowerOffMs 500, DestroyMs 500: no VMware document gives either duration;
//     both are assumptions (a hard power-off needs no guest cooperation; the
//     destroy of an instant clone deletes its delta disk and small files).
//   - ToolsAddressMs 400: open-vm-tools pushes NIC data every 30 s and at once
//     after a reset or resume, or on `vmware-toolbox-cmd info update network`
//     (open-vm-tools services/plugins/guestInfo/guestInfoServer.c); the guest
//     agent resets the network and forces that push, so the delay is the
//     guest's network reset and DHCP exchange, which no VMware document sizes:
//     an assumption.
//   - AgentStartMs 300: the time for the agent to start an already pulled
//     image's process and report it; it is Bonneville's own and depends on the
//     image: an assumption.
var bonnevilleTimingDefaults = BonnevilleTiming{
	CloneMs:        1000,
	PerHost:        8,
	VCenterTasks:   640,
	PowerOffMs:     500,
	DestroyMs:      500,
	ToolsAddressMs: 400,
	AgentStartMs:   300,
	Spread:         0.25,
}

// bonnevilleFIFO is a counting semaphore whose waiters are served in arrival
// order (vCenter's queue order is not documented; first come, first served is
// the assumption). A place in the queue is taken by enqueue, synchronously, so
// arrival order is the order of the calls, not of goroutine scheduling; the
// time a slot is granted is recorded by whoever grants it.
type bonnevilleFIFO struct {
	mu      sync.Mutex
	limit   int
	used    int
	peak    int
	waiting []*bonnevilleTicket
}

// bonnevilleTicket is one place in a bonnevilleFIFO, taken at queuedAt: granted
// is closed when the slot is given, at grantedAt, after onGrant (if any) ran.
type bonnevilleTicket struct {
	queuedAt  time.Time
	granted   chan struct{}
	grantedAt time.Time
	onGrant   func()
}

func (t *bonnevilleTicket) wait() time.Time {
	<-t.granted
	return t.grantedAt
}

func (t *bonnevilleTicket) grant() {
	t.grantedAt = time.Now()
	if t.onGrant != nil {
		t.onGrant()
	}
	close(t.granted)
}

// enqueue takes a place in the queue now; onGrant runs when the slot is
// granted (under the semaphore's lock: it may only enqueue on a semaphore
// that is always taken after this one).
func (s *bonnevilleFIFO) enqueue(onGrant func()) *bonnevilleTicket {
	t := &bonnevilleTicket{granted: make(chan struct{}), onGrant: onGrant}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.queuedAt = time.Now()
	if s.used < s.limit && len(s.waiting) == 0 {
		s.used++
		if s.used > s.peak {
			s.peak = s.used
		}
		t.grant()
		return t
	}
	s.waiting = append(s.waiting, t)
	return t
}

func (s *bonnevilleFIFO) acquire() { s.enqueue(nil).wait() }

func (s *bonnevilleFIFO) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.waiting) > 0 {
		// The slot passes straight to the first waiter.
		t := s.waiting[0]
		s.waiting = s.waiting[1:]
		t.grant()
		return
	}
	s.used--
}

func (s *bonnevilleFIFO) stats() (used, peak, queued int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.peak, len(s.waiting)
}

// bonnevilleTimedOp is one modelled operation's record.
type bonnevilleTimedOp struct {
	Method    string  `json:"method"`
	Task      string  `json:"task"`
	Name      string  `json:"name,omitempty"`
	VM        string  `json:"vm,omitempty"`
	Host      string  `json:"host,omitempty"`
	QueuedAt  float64 `json:"queuedAt"`
	StartedAt float64 `json:"startedAt,omitempty"`
	EndedAt   float64 `json:"endedAt,omitempty"`
	// DrawnMs is how long the model drew for the work. EndedAt - StartedAt is
	// at least that: it adds whatever delayed the simulator itself (a busy
	// machine wakes its timers late), which a real vCenter does not have.
	DrawnMs float64 `json:"drawnMs,omitempty"`
}

type bonnevilleTimingState struct {
	mu      sync.Mutex
	on      bool
	model   BonnevilleTiming
	rng     *rand.Rand
	vcenter *bonnevilleFIFO
	hosts   map[string]*bonnevilleFIFO
	ops     []*bonnevilleTimedOp
	running map[string]float64 // VM → when its guest reported the container running (unix ms)
	// bootDrawn: VM → the drawn time from its power-on to its guest
	// reporting (Tools' address plus the agent's start), ms.
	bootDrawn map[string]float64
}

var bonnevilleTimed = &bonnevilleTimingState{running: map[string]float64{}, bootDrawn: map[string]float64{}}

func init() {
	types.Add("BonnevillePowerOffVM_Task", reflect.TypeOf((*types.PowerOffVM_Task)(nil)).Elem())
	types.Add("BonnevilleDestroy_Task", reflect.TypeOf((*types.Destroy_Task)(nil)).Elem())
}

// SetBonnevilleTiming turns the model on with the given figures (nil: off).
func SetBonnevilleTiming(model *BonnevilleTiming) {
	t := bonnevilleTimed
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ops = nil
	t.running = map[string]float64{}
	t.bootDrawn = map[string]float64{}
	if model == nil {
		t.on = false
		return
	}
	t.on = true
	t.model = *model
	t.rng = rand.New(rand.NewSource(time.Now().UnixNano()))
	t.vcenter = &bonnevilleFIFO{limit: model.VCenterTasks}
	t.hosts = map[string]*bonnevilleFIFO{}
}

// BonnevilleTimingDefaults returns the benchmark's figures.
func BonnevilleTimingDefaults() BonnevilleTiming { return bonnevilleTimingDefaults }

func unixMs(t time.Time) float64 { return float64(t.UnixNano()) / 1e6 }

// draw returns a duration around median (ms), log-normally spread.
func (t *bonnevilleTimingState) draw(median float64) time.Duration {
	t.mu.Lock()
	z := t.rng.NormFloat64()
	sigma := t.model.Spread
	t.mu.Unlock()
	return time.Duration(median * math.Exp(sigma*z) * float64(time.Millisecond))
}

func (t *bonnevilleTimingState) enabled() (BonnevilleTiming, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.model, t.on
}

func (t *bonnevilleTimingState) host(ref types.ManagedObjectReference) *bonnevilleFIFO {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.hosts[ref.Value]
	if h == nil {
		h = &bonnevilleFIFO{limit: t.model.PerHost}
		t.hosts[ref.Value] = h
	}
	return h
}

// bonnevilleTimedRun runs task under the model when it is on and models
// method; it answers the task's reference (queued) and true, or false when the
// caller should run the task as before.
func bonnevilleTimedRun(ctx *Context, vm *VirtualMachine, task *Task, method, name string) (types.ManagedObjectReference, bool) {
	model, on := bonnevilleTimed.enabled()
	if !on {
		return types.ManagedObjectReference{}, false
	}
	var median float64
	provisioning := false
	switch method {
	case "InstantClone_Task":
		median, provisioning = model.CloneMs, true
	case "PowerOffVM_Task":
		median = model.PowerOffMs
	case "Destroy_Task":
		median = model.DestroyMs
	default:
		return types.ManagedObjectReference{}, false
	}
	var host *bonnevilleFIFO
	if provisioning && vm.Runtime.Host != nil {
		host = bonnevilleTimed.host(*vm.Runtime.Host)
	}
	bonnevilleTimed.mu.Lock()
	vcenter := bonnevilleTimed.vcenter
	bonnevilleTimed.mu.Unlock()
	// Both places are taken in the order the calls arrive: the vCenter's now,
	// the host's the moment the vCenter's is granted (always in that order, so
	// no two operations can wait on each other).
	var hostTicket *bonnevilleTicket
	vcenterTicket := vcenter.enqueue(func() {
		if host != nil {
			hostTicket = host.enqueue(nil)
		}
	})
	op := &bonnevilleTimedOp{Method: method, Task: task.Self.Value, Name: name, QueuedAt: unixMs(vcenterTicket.queuedAt)}
	if host != nil {
		op.Host = vm.Runtime.Host.Value
	}
	if method != "InstantClone_Task" {
		op.VM = vm.Self.Value
	}
	bonnevilleTimed.mu.Lock()
	bonnevilleTimed.ops = append(bonnevilleTimed.ops, op)
	bonnevilleTimed.mu.Unlock()

	go func() {
		vcenterTicket.wait()
		defer vcenter.release()
		var started time.Time
		if hostTicket != nil {
			started = hostTicket.wait()
			defer host.release()
		} else {
			started = vcenterTicket.grantedAt
		}
		bonnevilleStartTask(task, started)
		drawn := bonnevilleTimed.draw(median)
		time.Sleep(drawn)
		// The end is taken before the outcome is visible, so no client can
		// react to it (and queue its next operation) before the recorded end.
		ended := time.Now()
		ctx.Map.WithLock(vm, func() { bonnevilleFinishTask(task) })
		bonnevilleTimed.mu.Lock()
		op.StartedAt = unixMs(started)
		op.EndedAt = unixMs(ended)
		op.DrawnMs = float64(drawn) / float64(time.Millisecond)
		if ref, ok := task.Info.Result.(types.ManagedObjectReference); ok && method == "InstantClone_Task" {
			op.VM = ref.Value
			if clone, ok := Map.Get(ref).(*VirtualMachine); ok {
				op.Name = clone.Name
			}
		}
		bonnevilleTimed.mu.Unlock()
	}()
	return task.Self, true
}

// bonnevilleStartTask marks a queued task running since started, under the
// task's lock as bonnevilleFinishTask writes its outcome: clients may be
// reading the task.
func bonnevilleStartTask(t *Task, started time.Time) {
	Map.WithLock(t, func() {
		Map.Update(t, []types.PropertyChange{
			{Name: "info.startTime", Val: started},
			{Name: "info.state", Val: types.TaskInfoStateRunning},
		})
	})
}

// bonnevilleFinishTask does a running task's work and records its outcome
// (Task.Run without marking it running again, which the model did when the
// task left the queue).
func bonnevilleFinishTask(t *Task) {
	res, err := t.Execute(t)
	state := types.TaskInfoStateSuccess
	var fault interface{}
	if err != nil {
		state = types.TaskInfoStateError
		fault = types.LocalizedMethodFault{Fault: err, LocalizedMessage: reflect.TypeOf(err).Elem().Name()}
	}
	// vCenter updates a TaskInfo as a whole: no reader sees "success" before
	// the result (API reference, TaskInfo.result: set "if the task state is
	// success"). The property collector reads a task under the task's lock, so
	// the outcome is written under it too (the simulator's own Task.Run does
	// not lock the task: it is used only where it runs inside the call, before
	// any client can read the task).
	Map.WithLock(t, func() {
		Map.Update(t, []types.PropertyChange{
			{Name: "info.completeTime", Val: time.Now()},
			{Name: "info.state", Val: state},
			{Name: "info.result", Val: res},
			{Name: "info.error", Val: fault},
		})
	})
}

var bonnevilleVMThis = regexp.MustCompile(`<(?:[A-Za-z0-9_]+:)?_this[^>]*type="VirtualMachine"`)

// bonnevilleTimingRoute names the method that serves a call under the model:
// power-off and destroy of a virtual machine are modelled; with the model
// off, nothing is routed.
func bonnevilleTimingRoute(method string, body []byte) (string, bool) {
	if _, on := bonnevilleTimed.enabled(); !on {
		return "", false
	}
	if method != "PowerOffVM_Task" && method != "Destroy_Task" {
		return "", false
	}
	if !bonnevilleVMThis.Match(body) {
		return "", false
	}
	return "Bonneville" + method, true
}

// BonnevillePowerOffVMTask serves PowerOffVM_Task under the timing model.
func (vm *VirtualMachine) BonnevillePowerOffVMTask(ctx *Context, req *types.PowerOffVM_Task) soap.HasFault {
	runner := &powerVMTask{vm, types.VirtualMachinePowerStatePoweredOff, ctx}
	task := CreateTask(runner.Reference(), "powerOff", runner.Run)
	if ctx.Session != nil {
		task.Info.Reason = &types.TaskReasonUser{UserName: ctx.Session.UserName}
	}
	ref, ok := bonnevilleTimedRun(ctx, vm, task, "PowerOffVM_Task", "")
	if !ok {
		ref = task.Run()
	}
	return &methods.PowerOffVM_TaskBody{Res: &types.PowerOffVM_TaskResponse{Returnval: ref}}
}

// BonnevilleDestroyTask serves Destroy_Task of a virtual machine under the
// timing model: the simulator's own destroy, run when the modelled time ends.
func (vm *VirtualMachine) BonnevilleDestroyTask(ctx *Context, req *types.Destroy_Task) soap.HasFault {
	task := CreateTask(vm, "destroy", func(*Task) (types.AnyType, types.BaseMethodFault) {
		inner := vm.DestroyTask(ctx, req)
		body, ok := inner.(*methods.Destroy_TaskBody)
		if !ok || body.Res == nil {
			if f := inner.Fault(); f != nil {
				if mf, ok := f.VimFault().(types.BaseMethodFault); ok {
					return nil, mf
				}
			}
			return nil, &types.InvalidState{}
		}
		itask, ok := Map.Get(body.Res.Returnval).(*Task)
		if !ok {
			return nil, nil
		}
		if itask.Info.Error != nil {
			return nil, itask.Info.Error.Fault
		}
		return itask.Info.Result, nil
	})
	if ctx.Session != nil {
		task.Info.Reason = &types.TaskReasonUser{UserName: ctx.Session.UserName}
	}
	task.Info.Name = "Destroy_Task"
	ref, ok := bonnevilleTimedRun(ctx, vm, task, "Destroy_Task", "")
	if !ok {
		ref = task.Run()
	}
	return &methods.Destroy_TaskBody{Res: &types.Destroy_TaskResponse{Returnval: ref}}
}

// bonnevilleGuestBootDelay is how long a fork's guest takes from power-on to
// reporting its container: the given simulator setting, or, under the model,
// Tools' address delay plus the agent's start (both drawn, and recorded for
// the report).
func bonnevilleGuestBootDelay(vm types.ManagedObjectReference, configured time.Duration) time.Duration {
	model, on := bonnevilleTimed.enabled()
	if !on {
		return configured
	}
	delay := bonnevilleTimed.draw(model.ToolsAddressMs) + bonnevilleTimed.draw(model.AgentStartMs)
	bonnevilleTimed.mu.Lock()
	bonnevilleTimed.bootDrawn[vm.Value] = float64(delay) / float64(time.Millisecond)
	bonnevilleTimed.mu.Unlock()
	return delay
}

// installBonnevilleTiming starts the model's watch on the registry, and the
// model itself when BONNEVILLE_SIM_TIMING is "vcenter".
func installBonnevilleTiming() {
	Map.AddHandler(bonnevilleRunningWatch{})
	if os.Getenv("BONNEVILLE_SIM_TIMING") == "vcenter" {
		model := bonnevilleTimingDefaults
		SetBonnevilleTiming(&model)
	}
}

// bonnevilleRunningWatch records when each VM's guest first reports its
// container running (for the benchmark's fleet time); it watches updates, so
// no other file needs to tell it.
type bonnevilleRunningWatch struct{}

func (bonnevilleRunningWatch) Reference() types.ManagedObjectReference {
	return types.ManagedObjectReference{Type: "BonnevilleRunningWatch", Value: "running-watch"}
}
func (bonnevilleRunningWatch) PutObject(mo.Reference)                    {}
func (bonnevilleRunningWatch) RemoveObject(types.ManagedObjectReference) {}
func (bonnevilleRunningWatch) UpdateObject(obj mo.Reference, changes []types.PropertyChange) {
	ref := obj.Reference()
	if ref.Type != "VirtualMachine" {
		return
	}
	if _, on := bonnevilleTimed.enabled(); !on {
		return
	}
	for _, c := range changes {
		if c.Name != "config.extraConfig" {
			continue
		}
		var options []types.BaseOptionValue
		switch v := c.Val.(type) {
		case []types.BaseOptionValue:
			options = v
		case *types.ArrayOfOptionValue: // how the registry wraps a list for its handlers
			options = v.OptionValue
		case types.ArrayOfOptionValue:
			options = v.OptionValue
		}
		for _, o := range options {
			ov := o.GetOptionValue()
			if ov.Key == bonnevilleStatusKey && ov.Value == "running" {
				now := unixMs(time.Now())
				bonnevilleTimed.mu.Lock()
				if _, seen := bonnevilleTimed.running[ref.Value]; !seen {
					bonnevilleTimed.running[ref.Value] = now
				}
				bonnevilleTimed.mu.Unlock()
			}
		}
	}
}

// bonnevilleTimingReport is GET /bonneville/timing.
type bonnevilleTimingReport struct {
	On    bool              `json:"on"`
	Model *BonnevilleTiming `json:"model,omitempty"`
	// Ops: every modelled operation since the model was set, in arrival order.
	Ops []bonnevilleTimedOp `json:"ops"`
	// Running: VM → when its guest reported the container running (unix ms).
	Running map[string]float64 `json:"running"`
	// BootDrawn: VM → the drawn time from its power-on to its guest reporting, ms.
	BootDrawn map[string]float64 `json:"bootDrawn"`
	// Peaks of operations running at once, for vCenter and per host, and what is queued now.
	PeakVCenter int            `json:"peakVCenter"`
	PeakHost    map[string]int `json:"peakHost"`
	QueuedNow   int            `json:"queuedNow"`
}

// bonnevilleTimingControl serves /bonneville/timing: GET the report, POST a
// model (JSON BonnevilleTiming; an empty object takes the defaults), DELETE to
// turn it off. Answers false for any other path.
func bonnevilleTimingControl(w http.ResponseWriter, r *http.Request) bool {
	if r.URL.Path != "/bonneville/timing" {
		return false
	}
	t := bonnevilleTimed
	switch r.Method {
	case http.MethodGet:
		t.mu.Lock()
		rep := bonnevilleTimingReport{On: t.on, Running: map[string]float64{}, BootDrawn: map[string]float64{}, PeakHost: map[string]int{}, Ops: []bonnevilleTimedOp{}}
		if t.on {
			m := t.model
			rep.Model = &m
		}
		for _, op := range t.ops {
			rep.Ops = append(rep.Ops, *op)
		}
		for k, v := range t.running {
			rep.Running[k] = v
		}
		for k, v := range t.bootDrawn {
			rep.BootDrawn[k] = v
		}
		vcenter := t.vcenter
		hosts := map[string]*bonnevilleFIFO{}
		for k, v := range t.hosts {
			hosts[k] = v
		}
		t.mu.Unlock()
		if vcenter != nil {
			_, rep.PeakVCenter, rep.QueuedNow = vcenter.stats()
		}
		keys := make([]string, 0, len(hosts))
		for k := range hosts {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_, peak, queued := hosts[k].stats()
			rep.PeakHost[k] = peak
			rep.QueuedNow += queued
		}
		writeJSON(w, http.StatusOK, rep)
	case http.MethodPost:
		model := bonnevilleTimingDefaults
		if err := json.NewDecoder(r.Body).Decode(&model); err != nil && !strings.Contains(err.Error(), "EOF") {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "a timing model is JSON: " + err.Error()})
			return true
		}
		if model.PerHost < 1 || model.VCenterTasks < 1 || model.CloneMs < 0 || model.PowerOffMs < 0 ||
			model.DestroyMs < 0 || model.ToolsAddressMs < 0 || model.AgentStartMs < 0 || model.Spread < 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "perHost and vcenterTasks must be at least 1; times and spread must not be negative"})
			return true
		}
		SetBonnevilleTiming(&model)
		writeJSON(w, http.StatusOK, model)
	case http.MethodDelete:
		SetBonnevilleTiming(nil)
		writeJSON(w, http.StatusOK, map[string]bool{"on": false})
	default:
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "GET, POST or DELETE /bonneville/timing"})
	}
	return true
}
