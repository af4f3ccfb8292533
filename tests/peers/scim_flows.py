"""Drives Guild's SCIM 2.0 service as an HR system would, with the `scim2-client` library.

    python3 tests/peers/scim_flows.py BASE_URL TOKEN PHASE [ARGS...]

BASE_URL is the service's URL (http://127.0.0.1:PORT/scim/v2), TOKEN a PROVISION_SCIM key.
Each phase prints one JSON object on stdout for the Rust test (tests/http/scim.rs) to check:

- `hire`: discovers the service, creates a manager and an employee reporting to them (through
  the enterprise extension's `manager`) and a group with the manager in it, and finds the
  employee by a filter.
- `change EMPLOYEE MANAGER GROUP NEWCOMER`: once they joined, puts the employee in the group,
  moves the newcomer under the manager, renames the group, and deactivates the employee; reads
  each back.
- `leave GROUP NEWCOMER`: removes the newcomer from the group by a value path, deletes the group
  and the newcomer, and reads the 404s as SCIM errors.
"""

import json
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import PatchOp, PatchOperation, SCIMException

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def client(base, token):
    http = Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
    scim = SyncSCIMClient(http)
    scim.discover()
    return scim


def dump(resource):
    return resource.model_dump(mode="json") if hasattr(resource, "model_dump") else resource


def hire(scim, suffix=""):
    User = scim.get_resource_model("User")
    Group = scim.get_resource_model("Group")
    config = scim.provider.config
    boss = scim.create(
        User.model_validate(
            {
                "userName": f"boss{suffix}@acme.example.com",
                "displayName": "Bea Boss",
                "externalId": f"hr-boss{suffix}",
                "emails": [{"value": f"boss{suffix}@acme.example.com", "primary": True}],
            }
        )
    )
    ann = scim.create(
        User.model_validate(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
                "userName": f"ann{suffix}@acme.example.com",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "externalId": f"hr-ann{suffix}",
                ENTERPRISE: {"manager": {"value": boss.id}},
            }
        )
    )
    newcomer = scim.create(
        User.model_validate({"userName": f"cy{suffix}@acme.example.com", "displayName": "Cy"})
    )
    group = scim.create(
        Group.model_validate(
            {"displayName": "Engineering", "externalId": "hr-eng", "members": [{"value": boss.id}]}
        )
    )
    found = scim.query(User, query_parameters={"filter": f'userName eq "ann{suffix}@acme.example.com"'})
    by_external = scim.query(User, query_parameters={"filter": f'externalId eq "hr-boss{suffix}"'})
    try:
        scim.create(User.model_validate({"userName": f"ann{suffix}@acme.example.com"}))
        duplicate = None
    except SCIMException as exc:
        duplicate = {"status": exc.status, "scim_type": exc.scim_type, "detail": exc.detail}
    return {
        "bulk_supported": config.bulk.supported,
        "filter_max_results": config.filter.max_results,
        "boss": dump(boss),
        "ann": dump(ann),
        "newcomer": dump(newcomer),
        "group": dump(group),
        "found": [u.id for u in found.resources or []],
        "found_total": found.total_results,
        "by_external": [u.id for u in by_external.resources or []],
        "duplicate": duplicate,
    }


def change(scim, ann, boss, group, newcomer):
    User = scim.get_resource_model("User")
    Group = scim.get_resource_model("Group")
    scim.modify(
        Group,
        group,
        PatchOp[Group](
            operations=[PatchOperation(op="add", path="members", value=[{"value": ann}])]
        ),
    )
    scim.modify(
        User,
        newcomer,
        PatchOp[User](
            operations=[
                PatchOperation(op="replace", path=f"{ENTERPRISE}:manager", value={"value": boss})
            ]
        ),
    )
    renamed = scim.query(Group, group)
    renamed.display_name = "Platform Engineering"
    renamed = scim.replace(renamed)
    deactivated = scim.modify(
        User,
        ann,
        PatchOp[User](operations=[PatchOperation(op="replace", path="active", value=False)]),
    )
    return {
        "group": dump(scim.query(Group, group)),
        "renamed": dump(renamed),
        "ann": dump(scim.query(User, ann)),
        "deactivated_active": None if deactivated is None else deactivated.active,
        "newcomer": dump(scim.query(User, newcomer)),
    }


def leave(scim, group, newcomer):
    User = scim.get_resource_model("User")
    Group = scim.get_resource_model("Group")
    scim.modify(
        Group,
        group,
        PatchOp[Group](
            operations=[PatchOperation(op="remove", path=f'members[value eq "{newcomer}"]')]
        ),
    )
    after_removal = scim.query(Group, group)
    scim.delete(Group, group)
    scim.delete(User, newcomer)
    errors = {}
    for name, model, id in (("group", Group, group), ("user", User, newcomer)):
        try:
            scim.query(model, id)
            errors[name] = None
        except SCIMException as exc:
            errors[name] = {"status": exc.status, "detail": exc.detail}
    return {"members_after_removal": [m.value for m in after_removal.members or []], "errors": errors}


def main():
    base, token, phase, *args = sys.argv[1:]
    scim = client(base, token)
    if phase == "hire":
        out = hire(scim, *args)
    elif phase == "change":
        out = change(scim, *args)
    elif phase == "leave":
        out = leave(scim, *args)
    else:
        raise SystemExit(f"unknown phase {phase}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
