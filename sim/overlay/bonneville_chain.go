// Delta-disk chains of instant clones.
//
// Sources: vSphere 6.7 Web Services SDK programming guide, "How the Instant
// Clone Operation Works": the host stuns the source and gives it a new, empty
// delta disk; the clone gets an empty delta disk of its own that links to the
// delta that was the source's topmost when the stun began. "Limitations of
// Instant Clones": these delta disks are not snapshots; they "can run out
// after vSphere raises a warning", and a frozen source avoids the growth.
// VMware KB 67186 ("InstantClone fails due to exceeding maximum number of
// delta disks"): at most 255 redo-log levels per virtual disk; each
// InstantClone of a running source adds one to the source and to the clone;
// the delta disks are visible only through the VM's file layout (layoutEx);
// past 100 the source shows "This virtual machine has more than 100 redo logs
// in a single branch of its snapshot tree…"; at 255 InstantClone_Task fails
// with vmodl.fault.SystemError "Unable to prepare migration." whose cause is a
// vim.fault.GenericVmConfigFault (message key msg.migrate.prepare.failed).
//
// How the simulator shows a chain: the way vSphere does, as each virtual
// disk's backing with its `parent` backings (config.hardware.device), from
// which layout.disk[].diskFile and layoutEx.disk[].chain are derived (one
// chain unit per level, base disk last). The redo-log level of a disk is the
// number of parents its backing has.

package simulator

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	// bonnevilleRedoWarn is the level past which vSphere warns (KB 67186).
	bonnevilleRedoWarn = 100
	// bonnevilleRedoMax is the most redo-log levels a virtual disk supports (KB 67186).
	bonnevilleRedoMax = 255
)

func bonnevilleDisks(vm *VirtualMachine) []*types.VirtualDisk {
	var disks []*types.VirtualDisk
	for _, d := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
		disks = append(disks, d.(*types.VirtualDisk))
	}
	return disks
}

// bonnevilleRedoLevels is the deepest redo-log level of vm's disks.
func bonnevilleRedoLevels(vm *VirtualMachine) int {
	deepest := 0
	for _, disk := range bonnevilleDisks(vm) {
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		n := 0
		for p := b.Parent; p != nil; p = p.Parent {
			n++
		}
		if n > deepest {
			deepest = n
		}
	}
	return deepest
}

// bonnevilleChainCheck fails an instant clone that would take a disk past the
// supported number of redo-log levels, with the fault vCenter gives (KB 67186).
func bonnevilleChainCheck(source *VirtualMachine) types.BaseMethodFault {
	if bonnevilleRedoLevels(source)+1 <= bonnevilleRedoMax {
		return nil
	}
	const msg = "Unable to prepare migration."
	fault := &types.SystemError{Reason: msg}
	fault.FaultCause = &types.LocalizedMethodFault{
		Fault:            &types.GenericVmConfigFault{Reason: msg},
		LocalizedMessage: msg,
	}
	fault.FaultMessage = []types.LocalizableMessage{{Key: "msg.migrate.prepare.failed", Message: msg}}
	return fault
}

// bonnevilleCopyChain copies a backing and its parents.
func bonnevilleCopyChain(b *types.VirtualDiskFlatVer2BackingInfo) *types.VirtualDiskFlatVer2BackingInfo {
	if b == nil {
		return nil
	}
	c := *b
	c.Parent = bonnevilleCopyChain(b.Parent)
	return &c
}

var bonnevilleDeltaSuffix = regexp.MustCompile(`-\d{6}\.vmdk$`)

// bonnevilleDeltaName names the next delta of a disk file, as ESXi does:
// "[ds] vm/vm.vmdk" then "[ds] vm/vm-000001.vmdk", "[ds] vm/vm-000002.vmdk", …
func bonnevilleDeltaName(fileName string, level int) string {
	base := bonnevilleDeltaSuffix.ReplaceAllString(fileName, ".vmdk")
	return strings.TrimSuffix(base, ".vmdk") + fmt.Sprintf("-%06d.vmdk", level)
}

// bonnevilleForkDisks links each of the clone's disks, as its delta, to the
// chain the source's disk had when the clone began; and, when the source is
// running rather than frozen, puts the source on a new delta of its own. The
// caller holds the source's lock; the clone is new and not yet powered on.
func bonnevilleForkDisks(ctx *Context, source, clone *VirtualMachine) {
	frozen := bonnevilleIsFrozen(source)
	srcDisks, cloneDisks := bonnevilleDisks(source), bonnevilleDisks(clone)
	for i, disk := range srcDisks {
		top, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok || i >= len(cloneDisks) {
			continue
		}
		if cb, ok := cloneDisks[i].Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
			cb.Parent = bonnevilleCopyChain(top)
		}
		if !frozen {
			levels := 1
			for p := top.Parent; p != nil; p = p.Parent {
				levels++
			}
			delta := *top
			delta.FileName = bonnevilleDeltaName(path.Clean(top.FileName), levels)
			delta.Uuid = ""
			delta.Parent = top
			disk.Backing = &delta
		}
	}
	clone.bonnevilleDisksChanged()
	bonnevilleWarnRedo(ctx, clone, true)
	if !frozen {
		source.bonnevilleDisksChanged()
		bonnevilleWarnRedo(ctx, source, false)
	}
}

// bonnevilleDisksChanged re-derives layout.disk and layoutEx (disk files and
// chains) from the disk backings, and publishes the three. (The simulator's own
// updateDiskLayouts recomputes storage per file, which takes seconds on a
// chain of 255; this keeps its shape: a descriptor and an extent file per
// level, chain units top first.)
func (vm *VirtualMachine) bonnevilleDisksChanged() {
	if vm.LayoutEx == nil {
		vm.LayoutEx = &types.VirtualMachineFileLayoutEx{}
	}
	if vm.Layout == nil {
		vm.Layout = &types.VirtualMachineFileLayout{}
	}
	var files []types.VirtualMachineFileLayoutExFileInfo
	key := int32(0)
	for _, f := range vm.LayoutEx.File {
		if f.Type != string(types.VirtualMachineFileLayoutExFileTypeDiskDescriptor) && f.Type != string(types.VirtualMachineFileLayoutExFileTypeDiskExtent) {
			files = append(files, f)
			if f.Key >= key {
				key = f.Key + 1
			}
		}
	}
	keys := map[string]int32{}
	addFile := func(name string, kind types.VirtualMachineFileLayoutExFileType) int32 {
		if k, ok := keys[name]; ok {
			return k
		}
		k := key
		key++
		keys[name] = k
		files = append(files, types.VirtualMachineFileLayoutExFileInfo{Key: k, Name: name, Type: string(kind), Accessible: types.NewBool(true)})
		return k
	}
	var disks []types.VirtualMachineFileLayoutDiskLayout
	var disksEx []types.VirtualMachineFileLayoutExDiskLayout
	for _, disk := range bonnevilleDisks(vm) {
		b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo)
		if !ok {
			continue
		}
		layout := types.VirtualMachineFileLayoutDiskLayout{Key: disk.Key}
		layoutEx := types.VirtualMachineFileLayoutExDiskLayout{Key: disk.Key}
		for ; b != nil; b = b.Parent {
			extent := strings.Replace(b.FileName, ".vmdk", "-delta.vmdk", 1)
			if b.Parent == nil {
				extent = strings.Replace(b.FileName, ".vmdk", "-flat.vmdk", 1)
			}
			unit := types.VirtualMachineFileLayoutExDiskUnit{FileKey: []int32{
				addFile(b.FileName, types.VirtualMachineFileLayoutExFileTypeDiskDescriptor),
				addFile(extent, types.VirtualMachineFileLayoutExFileTypeDiskExtent),
			}}
			layout.DiskFile = append(layout.DiskFile, b.FileName)
			layoutEx.Chain = append(layoutEx.Chain, unit)
		}
		disks = append(disks, layout)
		disksEx = append(disksEx, layoutEx)
	}
	vm.LayoutEx.File = files
	vm.LayoutEx.Disk = disksEx
	vm.LayoutEx.Timestamp = time.Now()
	vm.Layout.Disk = disks
	Map.Update(vm, []types.PropertyChange{
		{Name: "config.hardware.device", Val: vm.Config.Hardware.Device},
		{Name: "layout", Val: vm.Layout},
		{Name: "layoutEx", Val: vm.LayoutEx},
	})
}

// bonnevilleWarnRedo posts the warning vSphere shows for a VM whose disk has
// more than 100 redo-log levels (KB 67186): once, when the VM is born past 100
// (a clone) or when its chain first passes 100 (a source).
func bonnevilleWarnRedo(ctx *Context, vm *VirtualMachine, born bool) {
	levels := bonnevilleRedoLevels(vm)
	if levels <= bonnevilleRedoWarn || (!born && levels != bonnevilleRedoWarn+1) || vm.Runtime.Host == nil {
		return
	}
	ctx.postEvent(&types.VmMessageWarningEvent{
		VmEvent: vm.event(),
		Message: "This virtual machine has more than 100 redo logs in a single branch of its snapshot tree.",
	})
}
