/*
 * A stand-in libgupnp-igd-1.0.so.4 for Meetecho's simple-whip-client (Debian bookworm's
 * `whip-client`) in tests: the four symbols libnice imports from it, and no UPnP. The real
 * library pulls in libsoup3 while whip-client links libsoup2, and libsoup aborts a process
 * that loads both ("Using libsoup2 and libsoup3 in the same process is not supported").
 * thread_new returns NULL: libnice then gathers without UPnP port mappings, which a loopback
 * test has no use for anyway. Built by test/helpers/native-shims.ts with `cc -shared` and put
 * first in that one process's LD_LIBRARY_PATH.
 */
#include <stddef.h>

typedef unsigned long GType;

void *gupnp_simple_igd_thread_new(void) { return NULL; }

GType gupnp_simple_igd_get_type(void) { return 0; }

void gupnp_simple_igd_add_port(void *self, const char *protocol, unsigned external_port, const char *local_ip,
                               unsigned local_port, unsigned lease_duration, const char *description) {
  (void)self; (void)protocol; (void)external_port; (void)local_ip; (void)local_port; (void)lease_duration; (void)description;
}

void gupnp_simple_igd_remove_port_local(void *self, const char *protocol, const char *local_ip, unsigned local_port) {
  (void)self; (void)protocol; (void)local_ip; (void)local_port;
}
