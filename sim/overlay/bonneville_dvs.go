// CreateDVPortgroup_Task (vSphere 5.0+), which this simulator version lacks:
// adds one port group through the simulator's AddDVPortgroup_Task and returns
// the new port group as the task's result, as vCenter does.

package simulator

import (
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// CreateDVPortgroupTask implements DistributedVirtualSwitch.CreateDVPortgroup_Task.
func (s *DistributedVirtualSwitch) CreateDVPortgroupTask(ctx *Context, req *types.CreateDVPortgroup_Task) soap.HasFault {
	task := CreateTask(s, "createDVPortgroup", func(t *Task) (types.AnyType, types.BaseMethodFault) {
		if req.Spec.Name == "" {
			return nil, &types.InvalidArgument{InvalidProperty: "spec.name"}
		}
		before := map[types.ManagedObjectReference]bool{}
		for _, pg := range s.Portgroup {
			before[pg] = true
		}
		res := s.AddDVPortgroupTask(ctx, &types.AddDVPortgroup_Task{This: s.Self, Spec: []types.DVPortgroupConfigSpec{req.Spec}})
		inner := Map.Get(res.(*methods.AddDVPortgroup_TaskBody).Res.Returnval).(*Task)
		if inner.Info.Error != nil {
			return nil, inner.Info.Error.Fault
		}
		for _, pg := range s.Portgroup {
			if !before[pg] {
				return pg, nil
			}
		}
		return nil, &types.SystemError{Reason: "port group was not added"}
	})
	return &methods.CreateDVPortgroup_TaskBody{
		Res: &types.CreateDVPortgroup_TaskResponse{Returnval: task.Run()},
	}
}
