// ListView.ModifyListView as the API reference describes it: the call "may
// partially succeed if some objects could not be resolved"; it adds every
// object that resolves and returns "a list containing any objects in 'add'
// that could not be resolved" (API reference, ListView.ModifyListView). The
// simulator's own version fails the whole call with ManagedObjectNotFound
// instead, and lists an object twice when it is added twice; a view here holds
// each object once.

package simulator

import (
	"reflect"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func init() {
	types.Add("BonnevilleModifyListView", reflect.TypeOf((*types.ModifyListView)(nil)).Elem())
	bonnevilleRouted["ModifyListView"] = "BonnevilleModifyListView"
}

// BonnevilleModifyListView serves ModifyListView (routed here by the HTTP front).
func (v *ListView) BonnevilleModifyListView(ctx *Context, req *types.ModifyListView) soap.HasFault {
	body := new(methods.ModifyListViewBody)
	changed := false
	for _, ref := range req.Remove {
		before := len(v.View)
		RemoveReference(&v.View, ref)
		changed = changed || len(v.View) != before
	}
	var unresolved []types.ManagedObjectReference
	for _, ref := range req.Add {
		if ctx.Map.Get(ref) == nil {
			unresolved = append(unresolved, ref)
			continue
		}
		present := false
		for _, have := range v.View {
			if have == ref {
				present = true
				break
			}
		}
		if !present {
			v.View = append(v.View, ref)
			changed = true
		}
	}
	if changed {
		v.update()
	}
	body.Res = &types.ModifyListViewResponse{Returnval: unresolved}
	return body
}
