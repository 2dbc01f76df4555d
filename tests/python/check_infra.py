"""Static checks of infra/accesslake.yaml against the code it deploys.

1. Every AWS call a function's code makes (found in the Rust modules that
   function runs) is allowed by that function's role, on the resource the
   template gives the code: DynamoDB operations on the state table, object
   store calls on the lake (or bulk) bucket, under the table prefixes the
   function writes.
2. Least privilege: no action with a wildcard, and `Resource: "*"` only for
   actions AWS does not scope to a resource (X-Ray).
3. Every ACCESSLAKE_ variable a function's configuration struct requires is
   set on that function, and none it sets is unknown to the code.

usage: check_infra.py TEMPLATE REPO_ROOT
"""

import os
import re
import sys

from cfnlint.decode import cfn_yaml

# The functions, the Rust modules their code runs (beyond shared helpers),
# the lake tables they land rows in, and their configuration struct.
FUNCTIONS = {
    "EntryFunction": {
        "dynamodb": "batch",  # the BatchStore side of store/dynamodb.rs
        "lake_writes": ["decisions", "rejected"],
        "object_store": ["ingest/src/sink.rs", "ingest/src/aws/kinesis.rs"],
        "config": ("ingest/src/aws/mod.rs", "LambdaConfig"),
    },
    "AdminFunction": {
        "dynamodb": "batch",
        "lake_writes": ["admin_events", "rejected"],
        "object_store": ["ingest/src/sink.rs"],
        "bulk_reads": ["ingest/src/aws/sqs.rs"],
        "config": ("ingest/src/aws/mod.rs", "LambdaConfig"),
    },
    "CompactFunction": {
        "dynamodb": "snapshot",  # DynamoStore::dimensions
        "lake_rewrites": ["transform/src/compact.rs", "transform/src/lake.rs", "ingest/src/snapshot.rs"],
        "config": ("ingest/src/aws/nightly.rs", "NightlyConfig"),
    },
}

DYNAMODB_CALLS = {
    r"\.batch_get_item\(\)": "dynamodb:BatchGetItem",
    r"\.get_item\(\)": "dynamodb:GetItem",
    r"\.query\(\)": "dynamodb:Query",
    r"\.scan\(\)": "dynamodb:Scan",
    r"\.put_item\(\)|\bPut::builder\(\)": "dynamodb:PutItem",
    r"\.delete_item\(\)|\bDelete::builder\(\)": "dynamodb:DeleteItem",
    r"\.update_item\(\)|\bUpdate::builder\(\)": "dynamodb:UpdateItem",
    r"\bConditionCheck::builder\(\)": "dynamodb:ConditionCheckItem",
    r"\.batch_write_item\(\)": "dynamodb:BatchWriteItem",
}

# Calls on an object store: `store.…`, `lake.…` or `….store().…`.
STORE = r"(?:\bstore|\blake|\bstore\(\))\s*\."
OBJECT_STORE_CALLS = {
    STORE + r"list(_with_delimiter)?\(": "s3:ListBucket",
    STORE + r"(get|get_range|get_opts|head)\(": "s3:GetObject",
    STORE + r"(put|put_opts|put_multipart)\(": "s3:PutObject",
    STORE + r"(delete|delete_stream)\(": "s3:DeleteObject",
}


def code_without_comments(path):
    text = open(path).read()
    text = re.sub(r"//[^\n]*", "", text)
    # Test modules are not deployed code.
    return text.split("#[cfg(test)]")[0]


def functions_of(text):
    """{fn name: body} of the top-level and impl functions of a Rust file."""
    out = {}
    for m in re.finditer(r"\bfn\s+([a-z_0-9]+)", text):
        start = text.find("{", m.end())
        depth, i = 0, start
        while i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                break
            i += 1
        out.setdefault(m.group(1), "")
        out[m.group(1)] += text[start:i + 1]
    return out


def calls(text, table):
    return {action for pattern, action in table.items() if re.search(pattern, text)}


def resource_name(r):
    """A policy resource as `Logical[/suffix]`: GetAtt X.Arn → X, Sub ${X.Arn}/p → X/p."""
    if isinstance(r, dict):
        if "Fn::GetAtt" in r:
            v = r["Fn::GetAtt"]
            return v[0] if isinstance(v, list) else v.split(".")[0]
        if "Fn::Sub" in r:
            s = r["Fn::Sub"] if isinstance(r["Fn::Sub"], str) else r["Fn::Sub"][0]
            return re.sub(r"\$\{([A-Za-z0-9]+)\.Arn\}", r"\1", s)
        if "Ref" in r:
            return r["Ref"]
    return str(r)


def grants(template, function):
    """[(action, resource)] of the function's role."""
    role = template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"]
    role = role[0] if isinstance(role, list) else role.split(".")[0]
    out = []
    for policy in template["Resources"][role]["Properties"]["Policies"]:
        for st in policy["PolicyDocument"]["Statement"]:
            assert st["Effect"] == "Allow", f"{role}: only Allow statements"
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
            out += [(a, resource_name(r)) for a in actions for r in resources]
    return role, out


def allowed(grants_, action, resource):
    def match(pattern, value):
        return re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), value) is not None
    return any(a == action and match(r, resource) for a, r in grants_)


def config_fields(path, struct):
    """(required, optional) ACCESSLAKE_ names of a configuration struct."""
    text = open(path).read()
    body = re.search(r"pub struct " + struct + r"\s*\{(.*?)\n\}", text, re.S).group(1)
    required, optional = set(), set()
    for m in re.finditer(r"(#\[serde\(default\)\]\s*)?pub ([a-z_]+): ([^,]+),", body):
        name = "ACCESSLAKE_" + m.group(2).upper()
        (optional if m.group(1) or m.group(3).startswith("Option<") else required).add(name)
    return required, optional


def main(template_path, root):
    template = cfn_yaml.load(template_path)
    failures = []
    dynamo = functions_of(code_without_comments(os.path.join(root, "ingest/src/store/dynamodb.rs")))
    dynamo_calls = {
        "snapshot": calls(dynamo.get("dimensions", ""), DYNAMODB_CALLS),
        "batch": calls("".join(b for n, b in dynamo.items() if n not in ("dimensions", "create_table")),
                       DYNAMODB_CALLS),
    }
    for function, spec in FUNCTIONS.items():
        role, g = grants(template, function)
        need = [(a, "StateTable") for a in sorted(dynamo_calls[spec["dynamodb"]])]
        for path in spec.get("object_store", []):
            for a in sorted(calls(code_without_comments(os.path.join(root, path)), OBJECT_STORE_CALLS)):
                need += [(a, f"LakeBucket/{t}/x.parquet") for t in spec["lake_writes"]]
        for path in spec.get("bulk_reads", []):
            for a in sorted(calls(code_without_comments(os.path.join(root, path)), OBJECT_STORE_CALLS)):
                need.append((a, "BulkBucket/drop/file.jsonl"))
        for path in spec.get("lake_rewrites", []):
            for a in sorted(calls(code_without_comments(os.path.join(root, path)), OBJECT_STORE_CALLS)):
                need.append((a, "LakeBucket" if a == "s3:ListBucket" else "LakeBucket/decisions/x.parquet"))
        need = sorted(set(need))
        if not need:
            failures.append(f"{function}: found no AWS calls in its code; the scan is broken")
        for action, resource in need:
            if not allowed(g, action, resource):
                failures.append(f"{function}: its code calls {action} on {resource}, which {role} does not allow")
        for action, resource in g:
            if "*" in action:
                failures.append(f"{role}: wildcard action {action}")
            if resource == "*" and not action.startswith("xray:"):
                failures.append(f"{role}: {action} on every resource (*)")
        required, optional = config_fields(os.path.join(root, spec["config"][0]), spec["config"][1])
        env = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        for name in sorted(required - set(env)):
            failures.append(f"{function}: the code requires {name}, the template does not set it")
        for name in sorted(set(env) - required - optional - {"ACCESSLAKE_LOG"}):
            failures.append(f"{function}: the template sets {name}, which the code does not read")
        print(f"{function}: {len(need)} calls allowed by {role}; environment {sorted(env)}")
    if failures:
        print("\n".join(failures), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:3])
