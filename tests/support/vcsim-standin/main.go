// Command vcsim-standin answers to the part of upstream govmomi vcsim's command
// line that sim/run uses (-l, -username, -password and the model counts), for
// sim/run's tests where no vcsim binary is installed: Debian's govmomi simulator
// library serving a vCenter model over TLS, whose login accepts exactly the
// given user name and password, until SIGINT or SIGTERM.
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/vmware/govmomi/simulator"
)

func main() {
	model := simulator.VPX()
	listen := flag.String("l", "127.0.0.1:8989", "listen address")
	user := flag.String("username", "", "login user name")
	pass := flag.String("password", "", "login password")
	flag.IntVar(&model.Cluster, "cluster", model.Cluster, "clusters per datacenter")
	flag.IntVar(&model.ClusterHost, "host", model.ClusterHost, "hosts per cluster")
	flag.IntVar(&model.Host, "standalone-host", model.Host, "standalone hosts")
	flag.IntVar(&model.Machine, "vm", model.Machine, "virtual machines per resource pool")
	flag.IntVar(&model.Portgroup, "pg", model.Portgroup, "port groups")
	flag.IntVar(&model.Datastore, "ds", model.Datastore, "datastores")
	flag.Parse()

	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	defer model.Remove()
	model.Service.TLS = new(tls.Config)
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, *pass)}
	server := model.Service.NewServer()
	defer server.Close()

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
	<-signals
}
