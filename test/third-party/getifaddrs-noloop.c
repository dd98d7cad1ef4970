/*
 * LD_PRELOAD shim for third-party WebRTC servers in tests: getifaddrs() as the C library
 * returns it, with IFF_LOOPBACK cleared on every interface. libnice (Janus, GStreamer's
 * webrtcbin) skips loopback interfaces when it gathers candidates, so in the loopback-only
 * network namespace the tests run in it finds no address at all ("Error gathering
 * candidates"). Seen as an ordinary interface, 127.0.0.1 becomes a host candidate. Only the
 * process started with it is touched. Built by test/helpers/janus.ts with `cc -shared`.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>

int getifaddrs(struct ifaddrs **ifap) {
  static int (*real)(struct ifaddrs **);
  if (!real) real = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
  int r = real(ifap);
  if (r == 0) {
    for (struct ifaddrs *i = *ifap; i != NULL; i = i->ifa_next) i->ifa_flags &= ~IFF_LOOPBACK;
  }
  return r;
}
