"""ARM templates: the expression language and the expansion of a template into the
resources a deployment puts, in dependsOn order.

Plain Python, no HTTP and no store: the deployment engine (acrctl.backend.deployments)
hands in the scope (subscription, resource group, deployment name) and, for `reference()`,
a callback that reads a deployed resource.

What is supported, and everything else is refused with a TemplateError naming the template
path (`resources[1].properties.location`), never silently ignored:

* expressions: `[...]` strings with nested function calls, string literals with `''`
  escaping, integers, property access (`.name`) and indexing (`[0]`, `['key']`); a string
  starting with `[[` is the literal text without the first bracket;
* functions: FUNCTIONS in .functions (the ones templates for registries use);
* parameters with defaultValue (itself an expression), allowedValues, min/maxLength,
  min/maxValue and type checks; variables (lazily evaluated, cycles refused);
* resources of the types in RESOURCE_TYPES, with nested names (`myreg/eastus`), child
  resources nested in a parent's `resources` array (relative type and name), `condition`
  and `dependsOn` (resource ids, `type/name` or names); a child depends on its registry
  implicitly when the registry is in the same template;
* outputs (where `reference()` reads what was deployed).

Evaluation is bounded (acrctl.backend.template_limits: string and value sizes, the total
built, steps, depth, time, resources, expression length); past a bound a TemplateLimitError
names the place, the limit and its setting.

The package: model (types, errors, scope, resources, uniqueString), parser (the expression
language), functions_scope and functions (the function library), evaluator (parameters,
variables, evaluation) and template (the Template). This module re-exports their names.
"""

from __future__ import annotations

from acrctl.backend.templates.evaluator import (  # noqa: F401
    Evaluator,
)
from acrctl.backend.templates.functions import (  # noqa: F401
    FUNCTION_NAMES,
    FUNCTIONS,
    PASS_THROUGH,
    _and,
    _bool,
    _bools,
    _brief,
    _empty,
    _equals,
    _false,
    _if_placeholder,
    _int,
    _length,
    _not,
    _null,
    _or,
    _replace,
    _string,
    _true,
    _unsupported,
)
from acrctl.backend.templates.functions_scope import (  # noqa: F401
    _FORMAT,
    Function,
    _arg_error,
    _arity,
    _concat,
    _deployment,
    _format,
    _parameters,
    _reference,
    _resource_group,
    _resource_id,
    _strings,
    _subscription,
    _text,
    _to_lower,
    _to_upper,
    _unique_string,
    _variables,
    _would,
    fn,
)
from acrctl.backend.templates.model import (  # noqa: F401
    BASE32,
    BODY_KEYS,
    M32,
    M64,
    NOT_EVALUATED,
    PARAMETER_TYPES,
    RESOURCE_TYPES,
    SECURE,
    UNSUPPORTED_RESOURCE_KEYS,
    Reference,
    Resource,
    Scope,
    TemplateError,
    TemplateLimitError,
    _fmix,
    _limit,
    _rotl,
    murmur64,
    unique_string,
)
from acrctl.backend.templates.parser import (  # noqa: F401
    _PARSED,
    _TOKEN,
    INT64,
    PARSED_ENTRIES,
    PARSED_LENGTH,
    Call,
    ExpressionSyntaxError,
    Index,
    Lit,
    Node,
    Prop,
    _Parser,
    _tokens,
    calls,
    int64,
    is_expression,
    parse,
    text,
    type_name,
    walk,
)
from acrctl.backend.templates.template import (  # noqa: F401
    Template,
)
