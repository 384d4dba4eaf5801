#!/usr/bin/env python3
"""Turns a Docker/containerd-format seccomp profile (archMap, includes,
excludes) into the plain OCI `linux.seccomp` object that runc's config.json
takes, the way dockerd and containerd do it for one container: the native
architecture, the container's capability set, the running kernel.

    seccomp-oci.py PROFILE [--caps CAP_A,CAP_B] [--without-nsrun-rule]

--without-nsrun-rule drops the rules whose comment starts with "nsrun:",
which turns seccomp-nsrun.json back into the runtime's default profile (the
integration test uses that to stand in for Docker's default).
"""
import argparse
import json
import os
import platform
import sys

GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "s390x": "s390x",
          "ppc64le": "ppc64le", "riscv64": "riscv64"}
SCMP_NATIVE = {"amd64": "SCMP_ARCH_X86_64", "arm64": "SCMP_ARCH_AARCH64", "arm": "SCMP_ARCH_ARM",
               "s390x": "SCMP_ARCH_S390X", "ppc64le": "SCMP_ARCH_PPC64LE",
               "riscv64": "SCMP_ARCH_RISCV64"}


def kernel_at_least(want):
    have = [int(x) for x in os.uname().release.split("-")[0].split(".")[:2]]
    need = [int(x) for x in want.split(".")[:2]]
    return have >= need


def applies(rule, arch, caps):
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if any(c not in caps for c in inc.get("caps") or []):
        return False
    if inc.get("minKernel") and not kernel_at_least(inc["minKernel"]):
        return False
    if arch in (exc.get("arches") or []):
        return False
    if any(c in caps for c in exc.get("caps") or []):
        return False
    return True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("profile")
    ap.add_argument("--caps", default="", help="the container's capabilities, comma-separated")
    ap.add_argument("--without-nsrun-rule", action="store_true")
    a = ap.parse_args()

    prof = json.load(open(a.profile))
    arch = GOARCH.get(platform.machine(), platform.machine())
    caps = {c.strip() for c in a.caps.split(",") if c.strip()}
    out = {"defaultAction": prof["defaultAction"]}
    if "defaultErrnoRet" in prof:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    arches = []
    for m in prof.get("archMap") or []:
        if m["architecture"] == SCMP_NATIVE.get(arch):
            arches = [m["architecture"]] + (m.get("subArchitectures") or [])
    if arches:
        out["architectures"] = arches
    rules = []
    for r in prof.get("syscalls", []):
        if a.without_nsrun_rule and str(r.get("comment", "")).startswith("nsrun:"):
            continue
        if not applies(r, arch, caps):
            continue
        o = {"names": r["names"] if "names" in r else [r["name"]], "action": r["action"]}
        if r.get("args"):
            o["args"] = [{k: v for k, v in x.items() if k in ("index", "value", "valueTwo", "op")}
                         for x in r["args"]]
        if "errnoRet" in r:
            o["errnoRet"] = r["errnoRet"]
        rules.append(o)
    out["syscalls"] = rules
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
