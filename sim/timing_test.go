// Tests of the vCenter timing model (sim/overlay/bonneville_timing.go) with
// fast figures: queuing beyond a host's provisioning slots and beyond
// vCenter's task limit, in arrival order, and modelled power-off and destroy.
// They assert states, orders and peaks, never durations.
package main

import (
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

type timingOp struct {
	Method    string  `json:"method"`
	Task      string  `json:"task"`
	Name      string  `json:"name"`
	VM        string  `json:"vm"`
	Host      string  `json:"host"`
	QueuedAt  float64 `json:"queuedAt"`
	StartedAt float64 `json:"startedAt"`
	EndedAt   float64 `json:"endedAt"`
	DrawnMs   float64 `json:"drawnMs"`
}

type timingReport struct {
	On          bool               `json:"on"`
	Ops         []timingOp         `json:"ops"`
	Running     map[string]float64 `json:"running"`
	BootDrawn   map[string]float64 `json:"bootDrawn"`
	PeakVCenter int                `json:"peakVCenter"`
	PeakHost    map[string]int     `json:"peakHost"`
	QueuedNow   int                `json:"queuedNow"`
}

// withTimingModel turns the model on with these figures for one test.
func withTimingModel(t *testing.T, model map[string]interface{}) {
	t.Helper()
	if code := control(t, http.MethodPost, "/bonneville/timing", model, nil); code != http.StatusOK {
		t.Fatalf("POST /bonneville/timing: status %d", code)
	}
	t.Cleanup(func() { control(t, http.MethodDelete, "/bonneville/timing", nil, nil) })
}

func timing(t *testing.T) timingReport {
	t.Helper()
	var rep timingReport
	if code := control(t, http.MethodGet, "/bonneville/timing", nil, &rep); code != http.StatusOK {
		t.Fatalf("GET /bonneville/timing: status %d", code)
	}
	return rep
}

// startClones calls InstantClone_Task n times on parent (one after another)
// and returns the tasks as answered.
func startClones(t *testing.T, c *govmomi.Client, parent types.ManagedObjectReference, n int, prefix string) []types.ManagedObjectReference {
	t.Helper()
	ctx := testContext(t)
	var tasks []types.ManagedObjectReference
	for i := 0; i < n; i++ {
		res, err := methods.InstantClone_Task(ctx, c.Client, &types.InstantClone_Task{This: parent, Spec: imageSpec(uniqueName(prefix))})
		if err != nil {
			t.Fatalf("InstantClone_Task: %v", err)
		}
		tasks = append(tasks, res.Returnval)
	}
	return tasks
}

func taskStates(t *testing.T, c *govmomi.Client, tasks []types.ManagedObjectReference) map[types.TaskInfoState]int {
	t.Helper()
	var infos []mo.Task
	if err := property.DefaultCollector(c.Client).Retrieve(testContext(t), tasks, []string{"info.state"}, &infos); err != nil {
		t.Fatalf("read task states: %v", err)
	}
	states := map[types.TaskInfoState]int{}
	for _, info := range infos {
		states[info.Info.State]++
	}
	return states
}

func waitTasks(t *testing.T, c *govmomi.Client, tasks []types.ManagedObjectReference) []types.ManagedObjectReference {
	t.Helper()
	var refs []types.ManagedObjectReference
	for _, task := range tasks {
		info, err := object.NewTask(c.Client, task).WaitForResult(testContext(t), nil)
		if err != nil {
			t.Fatalf("task %s: %v", task.Value, err)
		}
		if ref, ok := info.Result.(types.ManagedObjectReference); ok {
			refs = append(refs, ref)
		}
	}
	return refs
}

func TestTheTimingModelRunsAtMostPerHostClonesOnAHostAndQueuesTheRestInArrivalOrder(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	parent := newParent(t, c, inv, inv.hosts[0])
	withTimingModel(t, map[string]interface{}{
		"cloneMs": 1000, "perHost": 2, "vcenterTasks": 100, "spread": 0,
		"toolsAddressMs": 20, "agentStartMs": 20, "powerOffMs": 10, "destroyMs": 10,
	})

	tasks := startClones(t, c, parent, 5, "timed")
	states := taskStates(t, c, tasks)
	if states[types.TaskInfoStateRunning] > 2 || states[types.TaskInfoStateQueued] < 3 {
		t.Fatalf("with 2 provisioning slots on the host, at most 2 of 5 clones may run and the rest must be queued; got %v", states)
	}
	clones := waitTasks(t, c, tasks)
	if len(clones) != 5 {
		t.Fatalf("every clone must succeed, got %d VMs", len(clones))
	}

	rep := timing(t)
	if peak := rep.PeakHost[inv.hosts[0].Value]; peak != 2 {
		t.Fatalf("the host must have run exactly 2 clones at its peak, got %d (%v)", peak, rep.PeakHost)
	}
	var ops []timingOp
	for _, op := range rep.Ops {
		if op.Method == "InstantClone_Task" {
			ops = append(ops, op)
		}
	}
	if len(ops) != 5 {
		t.Fatalf("want 5 modelled clones, got %d", len(ops))
	}
	byQueue := append([]timingOp(nil), ops...)
	sort.SliceStable(byQueue, func(i, j int) bool { return byQueue[i].QueuedAt < byQueue[j].QueuedAt })
	for i := 1; i < len(byQueue); i++ {
		if byQueue[i].StartedAt < byQueue[i-1].StartedAt {
			t.Fatalf("queued clones must start in arrival order: %+v", byQueue)
		}
	}
	if byQueue[2].StartedAt < byQueue[0].EndedAt && byQueue[2].StartedAt < byQueue[1].EndedAt {
		t.Fatalf("the third clone must wait for one of the first two to end: %+v", byQueue)
	}
	for _, op := range ops {
		if op.Host != inv.hosts[0].Value || op.VM == "" || op.Name == "" {
			t.Fatalf("each clone's record names its host, VM and name: %+v", op)
		}
	}
	// The guest of each fork reports its container running, after the clone.
	waitRunning(t, rep.Ops, clones)

	// The report keeps what the model drew beside what ran: with no spread, exactly the medians;
	// what ran took at least that long.
	rep = timing(t)
	for _, op := range rep.Ops {
		if op.Method != "InstantClone_Task" {
			continue
		}
		if op.DrawnMs != 1000 {
			t.Fatalf("with spread 0 each clone draws its median, 1000 ms; got %+v", op)
		}
		if ran := op.EndedAt - op.StartedAt; ran < op.DrawnMs-0.001 {
			t.Fatalf("a clone cannot run shorter than drawn: ran %.3f ms, drew %.3f ms", ran, op.DrawnMs)
		}
		boot, ok := rep.BootDrawn[op.VM]
		if !ok || boot != 40 {
			t.Fatalf("each fork's guest draws Tools' address plus the agent's start, 20 + 20 ms; got %v (%t) for %s", boot, ok, op.VM)
		}
		if took := rep.Running[op.VM] - op.EndedAt; took < boot-0.001 {
			t.Fatalf("%s reported running %.3f ms after its clone ended, sooner than its drawn %.0f ms", op.VM, took, boot)
		}
	}
}

// waitRunning waits (through the report) until the guest of every clone reported running.
func waitRunning(t *testing.T, ops []timingOp, clones []types.ManagedObjectReference) {
	t.Helper()
	ctx := testContext(t)
	ended := map[string]float64{}
	for _, op := range ops {
		ended[op.VM] = op.EndedAt
	}
	for {
		rep := timing(t)
		missing := 0
		for _, ref := range clones {
			at, ok := rep.Running[ref.Value]
			if !ok {
				missing++
				continue
			}
			if at < ended[ref.Value] {
				t.Fatalf("%s reported running before its clone ended", ref.Value)
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d clones never reported running", missing)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestTheTimingModelQueuesTasksBeyondVCentersLimitAndModelsPowerOffAndDestroy(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	parent := newParent(t, c, inv, inv.hosts[1])
	withTimingModel(t, map[string]interface{}{
		"cloneMs": 1000, "perHost": 8, "vcenterTasks": 2, "spread": 0,
		"toolsAddressMs": 20, "agentStartMs": 20, "powerOffMs": 300, "destroyMs": 300,
	})

	tasks := startClones(t, c, parent, 4, "vclimit")
	states := taskStates(t, c, tasks)
	if states[types.TaskInfoStateRunning] > 2 || states[types.TaskInfoStateQueued] < 2 {
		t.Fatalf("with vCenter running 2 tasks at once, at most 2 of 4 clones may run and the rest must be queued; got %v", states)
	}
	clones := waitTasks(t, c, tasks)
	if rep := timing(t); rep.PeakVCenter != 2 {
		t.Fatalf("vCenter must have run exactly 2 tasks at its peak, got %d", rep.PeakVCenter)
	}

	ctx := testContext(t)
	off, err := methods.PowerOffVM_Task(ctx, c.Client, &types.PowerOffVM_Task{This: clones[0]})
	if err != nil {
		t.Fatalf("PowerOffVM_Task: %v", err)
	}
	if s := taskStates(t, c, []types.ManagedObjectReference{off.Returnval}); s[types.TaskInfoStateSuccess] != 0 {
		t.Fatalf("a modelled power-off must answer before it is done, got %v", s)
	}
	waitTasks(t, c, []types.ManagedObjectReference{off.Returnval})
	var vm mo.VirtualMachine
	if err := property.DefaultCollector(c.Client).RetrieveOne(ctx, clones[0], []string{"runtime.powerState"}, &vm); err != nil || vm.Runtime.PowerState != types.VirtualMachinePowerStatePoweredOff {
		t.Fatalf("after the power-off task the VM must be powered off: %v %v", err, vm.Runtime.PowerState)
	}
	destroy, err := methods.Destroy_Task(ctx, c.Client, &types.Destroy_Task{This: clones[0]})
	if err != nil {
		t.Fatalf("Destroy_Task: %v", err)
	}
	if s := taskStates(t, c, []types.ManagedObjectReference{destroy.Returnval}); s[types.TaskInfoStateSuccess] != 0 {
		t.Fatalf("a modelled destroy must answer before it is done, got %v", s)
	}
	waitTasks(t, c, []types.ManagedObjectReference{destroy.Returnval})
	var left []mo.VirtualMachine
	err = property.DefaultCollector(c.Client).Retrieve(ctx, []types.ManagedObjectReference{clones[0]}, []string{"name"}, &left)
	if err == nil && len(left) > 0 {
		t.Fatalf("after the destroy task the VM must be gone, found %v", left)
	}
	methodsSeen := map[string]int{}
	for _, op := range timing(t).Ops {
		methodsSeen[op.Method]++
	}
	if methodsSeen["PowerOffVM_Task"] != 1 || methodsSeen["Destroy_Task"] != 1 {
		t.Fatalf("power-off and destroy must be modelled once each, got %v", methodsSeen)
	}
}

func TestWithTheTimingModelOffTasksRunInsideTheCall(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	parent := newParent(t, c, inv, inv.hosts[2])
	if timing(t).On {
		t.Fatalf("the timing model must be off by default")
	}
	tasks := startClones(t, c, parent, 1, "untimed")
	if s := taskStates(t, c, tasks); s[types.TaskInfoStateSuccess] != 1 {
		t.Fatalf("without the model a clone is done when its call answers, got %v", s)
	}
}

// A task's outcome is one update that readers of the task cannot see half
// done (vSphere API reference, TaskInfo: result is set "if the task state is
// success"; vCenter updates a TaskInfo as a whole). The property collector
// reads a task under its lock, so the model must write the outcome under it
// too: govmomi's task.Wait returns on the state alone, and a reader that saw
// "success" before the result would get no VM from a clone that made one.
func TestATimedTaskWritesItsOutcomeUnderTheTasksLock(t *testing.T) {
	c := login(t)
	inv := loadInventory(t, c)
	parent := newParent(t, c, inv, inv.hosts[0])
	withTimingModel(t, map[string]interface{}{
		"cloneMs": 20, "perHost": 8, "vcenterTasks": 640, "spread": 0,
		"toolsAddressMs": 1, "agentStartMs": 1, "powerOffMs": 1, "destroyMs": 1,
	})
	tasks := startClones(t, c, parent, 1, "atomic")
	var held types.TaskInfoState
	simulator.Map.WithLock(tasks[0], func() {
		// The clone ends (20 ms) while this reader holds the task.
		time.Sleep(300 * time.Millisecond)
		held = simulator.Map.Get(tasks[0]).(*simulator.Task).Info.State
	})
	if held == types.TaskInfoStateSuccess || held == types.TaskInfoStateError {
		t.Fatalf("the task's outcome (%s) was written while a reader held the task's lock", held)
	}
	if clones := waitTasks(t, c, tasks); len(clones) != 1 {
		t.Fatalf("once the reader let go, the clone must succeed with its VM; got %v", clones)
	}
}
