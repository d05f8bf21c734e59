// TaskManager.recentTask as vCenter serves it to WaitForUpdatesEx. The API
// reference (TaskManager, property recentTask) says the property "should not be
// used for tracking Task completion" (a ListView is the better way to follow a
// set of tasks) and that "in releases after vSphere API 5.0, vSphere Servers
// might not generate property collector update notifications for this
// property"; to read its latest value, retrieve it or call WaitForUpdatesEx
// with an empty version. So, by default, a filter's view of recentTask is
// taken when it first reports (a WaitForUpdatesEx with version "", or the
// filter's first report) and never changes after: new tasks do not enter
// through it and old ones do not leave it. The tasks it already reaches still
// report their own changes (those are Task updates, not recentTask ones).
// RetrievePropertiesEx reads the live list. Only traversals of recentTask
// selected directly from an ObjectSpec on the TaskManager are pinned this way;
// the API reference says nothing of other routes to the tasks.
// BONNEVILLE_SIM_RECENT_TASK_UPDATES=1 reports the live list instead (the
// simulator's former, kinder behaviour), for comparisons.

package simulator

import (
	"os"
	"sync"

	"github.com/vmware/govmomi/vim25/types"
)

var (
	bonnevilleRecentTaskLive = os.Getenv("BONNEVILLE_SIM_RECENT_TASK_UPDATES") == "1"
	bonnevilleRecentMu       sync.Mutex
	// bonnevilleRecentPinned is, per filter, the recentTask list its first report saw.
	bonnevilleRecentPinned = map[types.ManagedObjectReference][]types.ManagedObjectReference{}
)

// bonnevilleRecentTaskNow is the task manager's recentTask list now.
func bonnevilleRecentTaskNow(ctx *Context) []types.ManagedObjectReference {
	content := ctx.Map.content()
	if content.TaskManager == nil {
		return nil
	}
	tm, ok := ctx.Map.Get(*content.TaskManager).(*TaskManager)
	if !ok {
		return nil
	}
	tm.Lock()
	defer tm.Unlock()
	return append([]types.ManagedObjectReference(nil), tm.RecentTask...)
}

// bonnevilleForgetRecentTask drops a filter's pinned list (a fresh start of its collector).
func bonnevilleForgetRecentTask(filter types.ManagedObjectReference) {
	bonnevilleRecentMu.Lock()
	delete(bonnevilleRecentPinned, filter)
	bonnevilleRecentMu.Unlock()
}

// bonnevilleRecentTaskSpec returns the spec to collect for a filter's report
// and the recentTask list that report shows (nil when the spec does not
// involve recentTask, or when live updates are on).
func bonnevilleRecentTaskSpec(ctx *Context, filter types.ManagedObjectReference, spec types.PropertyFilterSpec) (types.PropertyFilterSpec, []types.ManagedObjectReference, bool) {
	if bonnevilleRecentTaskLive || !bonnevilleMentionsRecentTask(spec) {
		return spec, nil, false
	}
	bonnevilleRecentMu.Lock()
	pinned, ok := bonnevilleRecentPinned[filter]
	if !ok {
		pinned = bonnevilleRecentTaskNow(ctx)
		bonnevilleRecentPinned[filter] = pinned
	}
	bonnevilleRecentMu.Unlock()

	out := spec
	out.ObjectSet = nil
	for _, os := range spec.ObjectSet {
		if os.Obj.Type != "TaskManager" {
			out.ObjectSet = append(out.ObjectSet, os)
			continue
		}
		kept := os
		// Empty, not nil: the collector includes an ObjectSpec without a select set whatever its skip says.
		kept.SelectSet = []types.BaseSelectionSpec{}
		var reached []types.ObjectSpec
		for _, s := range os.SelectSet {
			ts, isTraversal := s.(*types.TraversalSpec)
			if !isTraversal || ts.Type != "TaskManager" || ts.Path != "recentTask" {
				kept.SelectSet = append(kept.SelectSet, s)
				continue
			}
			for _, task := range pinned {
				reached = append(reached, types.ObjectSpec{Obj: task, Skip: ts.Skip, SelectSet: ts.SelectSet})
			}
		}
		out.ObjectSet = append(out.ObjectSet, kept)
		out.ObjectSet = append(out.ObjectSet, reached...)
	}
	return out, pinned, true
}

// bonnevilleMentionsRecentTask: the spec reads recentTask or traverses it.
func bonnevilleMentionsRecentTask(spec types.PropertyFilterSpec) bool {
	for _, ps := range spec.PropSet {
		if ps.Type != "TaskManager" {
			continue
		}
		if ps.All != nil && *ps.All {
			return true
		}
		for _, p := range ps.PathSet {
			if p == "recentTask" {
				return true
			}
		}
	}
	for _, os := range spec.ObjectSet {
		if os.Obj.Type != "TaskManager" {
			continue
		}
		for _, s := range os.SelectSet {
			if ts, ok := s.(*types.TraversalSpec); ok && ts.Type == "TaskManager" && ts.Path == "recentTask" {
				return true
			}
		}
	}
	return false
}

// bonnevillePinRecentTaskValue shows the pinned list as the TaskManager's recentTask value.
func bonnevillePinRecentTaskValue(res *types.RetrieveResult, pinned []types.ManagedObjectReference) {
	if res == nil {
		return
	}
	for i := range res.Objects {
		if res.Objects[i].Obj.Type != "TaskManager" {
			continue
		}
		for j := range res.Objects[i].PropSet {
			if res.Objects[i].PropSet[j].Name == "recentTask" {
				res.Objects[i].PropSet[j].Val = types.ArrayOfManagedObjectReference{ManagedObjectReference: pinned}
			}
		}
	}
}
