// WaitForUpdatesEx for the Bonneville simulator. Each pass collects every
// filter of the collector once and reports the difference from what the
// client last saw (enter, modify with the changed properties, leave), so the
// cost of a pass grows with the filter's size, not with the number of object
// changes in the whole inventory. Nothing is lost when a wait times out: what
// was not reported stays unreported until a later call.

package simulator

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// bonnevilleSeen is, per filter, what the client was last told: object → property → value.
type bonnevilleSeen map[types.ManagedObjectReference]map[string]types.AnyType

var (
	bonnevilleWaitMu   sync.Mutex
	bonnevilleWaitSeen = map[types.ManagedObjectReference]bonnevilleSeen{}
	bonnevilleWaitVer  = map[types.ManagedObjectReference]int{}
)

// bonnevilleWaitTick is how often a waiting call looks for changes.
const bonnevilleWaitTick = 50 * time.Millisecond

func init() {
	types.Add("BonnevilleWaitForUpdatesEx", reflect.TypeOf((*types.WaitForUpdatesEx)(nil)).Elem())
	bonnevilleRouted["WaitForUpdatesEx"] = "BonnevilleWaitForUpdatesEx"
}

// bonnevilleDiff collects each filter and returns what changed since the
// client's last report, recording the new state as reported.
func (pc *PropertyCollector) bonnevilleDiff(ctx *Context) ([]types.PropertyFilterUpdate, types.BaseMethodFault) {
	var out []types.PropertyFilterUpdate
	for _, ref := range pc.Filter {
		filter, ok := ctx.Session.Get(ref).(*PropertyFilter)
		if !ok {
			continue
		}
		spec, recent, pinned := bonnevilleRecentTaskSpec(ctx, ref, filter.Spec)
		res, fault := pc.collect(ctx, &types.RetrievePropertiesEx{SpecSet: []types.PropertyFilterSpec{spec}})
		if fault != nil {
			return nil, fault
		}
		if pinned {
			bonnevillePinRecentTaskValue(res, recent)
		}
		now := bonnevilleSeen{}
		for _, o := range res.Objects {
			props := map[string]types.AnyType{}
			for _, p := range o.PropSet {
				props[p.Name] = p.Val
			}
			now[o.Obj] = props
		}
		bonnevilleWaitMu.Lock()
		before := bonnevilleWaitSeen[ref]
		bonnevilleWaitSeen[ref] = now
		bonnevilleWaitMu.Unlock()

		update := types.PropertyFilterUpdate{Filter: ref}
		for _, o := range res.Objects {
			old, known := before[o.Obj]
			ou := types.ObjectUpdate{Obj: o.Obj, Kind: types.ObjectUpdateKindModify}
			if !known {
				ou.Kind = types.ObjectUpdateKindEnter
			}
			for _, p := range o.PropSet {
				if known {
					if prev, ok := old[p.Name]; ok && reflect.DeepEqual(prev, p.Val) {
						continue
					}
				}
				ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: p.Name, Op: types.PropertyChangeOpAssign, Val: p.Val})
			}
			if known {
				for name := range old {
					if _, still := now[o.Obj][name]; !still {
						ou.ChangeSet = append(ou.ChangeSet, types.PropertyChange{Name: name, Op: types.PropertyChangeOpRemove})
					}
				}
			}
			if !known || len(ou.ChangeSet) > 0 {
				update.ObjectSet = append(update.ObjectSet, ou)
			}
		}
		for obj := range before {
			if _, still := now[obj]; !still {
				update.ObjectSet = append(update.ObjectSet, types.ObjectUpdate{Obj: obj, Kind: types.ObjectUpdateKindLeave})
			}
		}
		if len(update.ObjectSet) > 0 {
			out = append(out, update)
		}
	}
	return out, nil
}

// BonnevilleWaitForUpdatesEx serves WaitForUpdatesEx (routed here by the HTTP front).
func (pc *PropertyCollector) BonnevilleWaitForUpdatesEx(ctx *Context, r *types.WaitForUpdatesEx) soap.HasFault {
	body := &methods.WaitForUpdatesExBody{}
	wait, cancel := context.WithCancel(context.Background())
	once := false
	if r.Options != nil && r.Options.MaxWaitSeconds != nil {
		if *r.Options.MaxWaitSeconds == 0 {
			once = true
		} else {
			wait, cancel = context.WithTimeout(context.Background(), time.Duration(*r.Options.MaxWaitSeconds)*time.Second)
		}
	}
	defer cancel()
	pc.mu.Lock()
	pc.cancel = cancel
	pc.mu.Unlock()

	if r.Version == "" {
		// A fresh start: forget what earlier calls reported.
		bonnevilleWaitMu.Lock()
		for _, f := range pc.Filter {
			delete(bonnevilleWaitSeen, f)
			bonnevilleForgetRecentTask(f)
		}
		bonnevilleWaitMu.Unlock()
		ctx.Map.AddHandler(pc) // collect change notices, to know when to look again
	}

	respond := func(set []types.PropertyFilterUpdate) soap.HasFault {
		bonnevilleWaitMu.Lock()
		bonnevilleWaitVer[pc.Self]++
		version := strconv.Itoa(bonnevilleWaitVer[pc.Self])
		bonnevilleWaitMu.Unlock()
		body.Res = &types.WaitForUpdatesExResponse{Returnval: &types.UpdateSet{Version: version, FilterSet: set}}
		return body
	}

	check := func() (soap.HasFault, bool) {
		set, fault := pc.bonnevilleDiff(ctx)
		if fault != nil {
			body.Fault_ = Fault("", fault)
			return body, true
		}
		if len(set) > 0 {
			if bonnevilleMissUpdates() {
				return nil, false
			}
			return respond(set), true
		}
		return nil, false
	}

	if res, done := check(); done {
		return res
	}
	if once {
		body.Res = &types.WaitForUpdatesExResponse{}
		return body
	}
	ticker := time.NewTicker(bonnevilleWaitTick)
	defer ticker.Stop()
	for {
		select {
		case <-wait.Done():
			if wait.Err() == context.Canceled {
				body.Fault_ = Fault("", new(types.RequestCanceled))
				return body
			}
			body.Res = &types.WaitForUpdatesExResponse{}
			return body
		case <-ticker.C:
			pc.mu.Lock()
			changed := len(pc.updates) > 0
			pc.updates = nil
			pc.mu.Unlock()
			if !changed {
				continue
			}
			if res, done := check(); done {
				return res
			}
		}
	}
}

// bonnevilleMissUpdates: a MissUpdates rule holds for this poll's changes (they are lost).
func bonnevilleMissUpdates() bool {
	f := bonnevilleInstalled
	if f == nil {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rule := f.rules["WaitForUpdatesEx"]
	if rule == nil || !rule.MissUpdates || (rule.Count > 0 && rule.hits >= rule.Count) {
		return false
	}
	rule.hits++
	f.injected["WaitForUpdatesEx"]++
	return true
}
