# NSRUN_STATIC: nsrun as one self-contained static-pie binary, so a container
# image can be FROM scratch + nsrun + slirp4netns + the interpreter, with no
# loader or shared library of nsrun's own in it (scripts/container/).
#
# Included from CMakeLists.txt after the nsrun target is defined:
#   include(${CMAKE_SOURCE_DIR}/cmake/static.cmake)
#
#   cmake -S . -B build-static -DCMAKE_BUILD_TYPE=Release -DNSRUN_STATIC=ON \
#         -DNSRUN_TESTS=OFF [-DNSRUN_STATIC_LIBDIR=/opt/libmnl-static/lib]
#
# Why static-pie and not plain -static: the binary keeps ASLR (the hardening
# flags of the normal build stay: PIE, full RELRO, stack protector, FORTIFY).
# Why a fully static glibc is safe here: nsrun calls no NSS function
# (getpwnam, getaddrinfo, ...), no dlopen and no iconv, the calls that need
# glibc's shared objects at run time even from a static binary; a post-build
# check fails the build if that ever changes.
#
# Every dependency needs its static archive. Debian 12 ships libjansson.a,
# libseccomp.a, libnl-3.a, libnl-route-3.a and libnftnl.a in their -dev
# packages, but libmnl-dev has no libmnl.a: build one from the libmnl release
# tarball (./configure --enable-static --disable-shared --prefix=DIR && make
# install) and pass -DNSRUN_STATIC_LIBDIR=DIR/lib. Alpine's libmnl-static
# and most source-based distributions have it. Without any libmnl.a the
# image still works: scripts/container/mkrootfs.sh copies the dynamic nsrun
# with exactly the libraries ldd lists, plus libmnl.so.0 that it loads on
# first use (named by `nsrun --version`).

# Link order matters for archives: each before what it uses.
set(_nsrun_dep_libs nftnl mnl nl-route-3 nl-3 seccomp jansson)

# nsrun_find_archives(FOUND MISSING): the lib*.a of each dependency, in link
# order, and the names of those that have none.
function(nsrun_find_archives found_var missing_var)
  set(found)
  set(missing)
  foreach(_lib IN LISTS _nsrun_dep_libs)
    find_library(NSRUN_STATIC_${_lib} NAMES lib${_lib}.a
      HINTS ${NSRUN_STATIC_LIBDIR} ${NFTNL_LIBRARY_DIRS} ${MNL_LIBRARY_DIRS} ${NL_LIBRARY_DIRS}
            ${SECCOMP_LIBRARY_DIRS} ${JANSSON_LIBRARY_DIRS})
    if(NSRUN_STATIC_${_lib})
      list(APPEND found ${NSRUN_STATIC_${_lib}})
    else()
      list(APPEND missing lib${_lib}.a)
      unset(NSRUN_STATIC_${_lib} CACHE) # look again on the next configure
    endif()
  endforeach()
  set(${found_var} ${found} PARENT_SCOPE)
  set(${missing_var} ${missing} PARENT_SCOPE)
endfunction()

# The given archives (and library names) replace the shared libraries for
# everything that links nsrun_core; the include directories stay those
# pkg-config found. libnl needs pthread and libm; both are in glibc's libc
# since 2.34 but name them for older toolchains.
function(nsrun_link_deps libs)
  add_library(nsrun_static_deps INTERFACE)
  target_include_directories(nsrun_static_deps INTERFACE ${JANSSON_INCLUDE_DIRS}
    ${SECCOMP_INCLUDE_DIRS} ${NL_INCLUDE_DIRS} ${NFTNL_INCLUDE_DIRS} ${MNL_INCLUDE_DIRS})
  target_link_libraries(nsrun_static_deps INTERFACE ${libs} pthread m)
  set_property(TARGET nsrun_core PROPERTY INTERFACE_LINK_LIBRARIES nsrun_static_deps)
endfunction()

option(NSRUN_STATIC "Link nsrun as one self-contained static-pie binary" OFF)
set(NSRUN_STATIC_LIBDIR "" CACHE PATH "Searched first for the lib*.a archives of the static build")

if(NSRUN_STATIC)
  if(NSRUN_SANITIZE)
    message(FATAL_ERROR "NSRUN_STATIC: the sanitizer runtimes cannot be linked statically; turn NSRUN_SANITIZE off")
  endif()

  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_LINK_OPTIONS -static-pie)
  check_c_source_compiles("int main(void) { return 0; }" NSRUN_HAVE_STATIC_PIE)
  unset(CMAKE_REQUIRED_LINK_OPTIONS)
  if(NSRUN_HAVE_STATIC_PIE)
    set(_nsrun_static_flag -static-pie)
  else()
    message(WARNING "NSRUN_STATIC: the toolchain cannot link -static-pie; falling back to -static (no ASLR for nsrun's own code)")
    set(_nsrun_static_flag -static)
  endif()

  nsrun_find_archives(_nsrun_static_archives _nsrun_static_missing)
  if(_nsrun_static_missing)
    message(FATAL_ERROR
      "NSRUN_STATIC: no static archive for: ${_nsrun_static_missing}.\n"
      "Debian 12's libmnl-dev ships only the shared library: build libmnl from its release tarball "
      "(./configure --enable-static --disable-shared --prefix=DIR && make install) and configure with "
      "-DNSRUN_STATIC_LIBDIR=DIR/lib. Or keep the dynamic build: scripts/container/mkrootfs.sh puts it "
      "into an image with exactly the libraries it needs.")
  endif()

  nsrun_link_deps("${_nsrun_static_archives}")

  target_link_options(nsrun PRIVATE ${_nsrun_static_flag})
  # The link warns that libnl-3.a's nl_addr_info, nl_ip_proto2str and
  # nl_str2ip_proto use getaddrinfo/getprotoby*: nsrun never calls those
  # (they are in objects pulled in for other symbols), so the warnings are
  # expected. nsrun's own code must never call into NSS, dlopen or iconv,
  # which would make the "static" binary load glibc's shared objects at run
  # time from the image: checked on every build.
  add_custom_command(TARGET nsrun POST_BUILD VERBATIM
    COMMAND sh -c "if ${CMAKE_NM} -A \"$1\" | grep -E ' U (getpw(nam|uid|ent)|getgr(nam|gid|ent|ouplist)|initgroups|getspnam|getaddrinfo|getnameinfo|gethostby[a-z0-9]*|getservby[a-z]*|getprotoby[a-z]*|dlopen|iconv_open)(_r)?$'; then echo 'NSRUN_STATIC: nsrun_core calls NSS/dlopen/iconv (above): not safe in a static binary' >&2; exit 1; fi" sh $<TARGET_FILE:nsrun_core>)
  message(STATUS "NSRUN_STATIC: ${_nsrun_static_flag} with ${_nsrun_static_archives}")
endif()

# The default build: the dependencies whose archives exist are linked in
# (Debian 12: all but libmnl), glibc and the rest stay shared. Measured on a
# 2-CPU VM: exec to exit of `nsrun --version` 1.33 -> 1.04 ms, as the loader
# maps and relocates five libraries fewer; every run pays that start-up.
# The sanitizer build keeps the shared libraries (its runtime wants them).
#
# libmnl, the one without an archive on Debian 12, is then not linked at all
# but loaded on first use (netns/lazy/mnl_lazy.c): only runs that load an
# nftables ruleset need it, and a DT_NEEDED library cost every other run
# ~0.03 ms of start-up and exit (A/B, `deny` runs).
option(NSRUN_STATIC_DEPS "Link the static archives of the dependencies that have one" ON)
if(NOT NSRUN_STATIC AND NSRUN_STATIC_DEPS AND NOT NSRUN_SANITIZE)
  nsrun_find_archives(_nsrun_dep_archives _nsrun_dep_missing)
  set(_nsrun_dep_links ${_nsrun_dep_archives})
  foreach(_a IN LISTS _nsrun_dep_missing)
    string(REGEX REPLACE "^lib(.*)\\.a$" "\\1" _l ${_a})
    if(_l STREQUAL "mnl")
      target_sources(nsrun_core PRIVATE ${CMAKE_SOURCE_DIR}/netns/lazy/mnl_lazy.c)
      target_compile_definitions(nsrun_core PUBLIC NSRUN_MNL_LAZY)
      list(APPEND _nsrun_dep_links ${CMAKE_DL_LIBS})
    else()
      list(APPEND _nsrun_dep_links ${_l})
    endif()
  endforeach()
  nsrun_link_deps("${_nsrun_dep_links}")
  message(STATUS "NSRUN_STATIC_DEPS: archives ${_nsrun_dep_archives}; shared: ${_nsrun_dep_missing}")
endif()
