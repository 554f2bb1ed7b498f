#!/usr/bin/env python3
"""Renders chat templates with jinja2 configured as transformers' apply_chat_template configures it, and writes the
templates, contexts and outputs (or the kind of error) as JSON for the Swift template engine's tests.

Usage: /tmp/torchref/bin/python Scripts/make_jinja_fixtures.py Tests/LanguageModelsTests/Fixtures/jinja_templates.json

The environment copies transformers' `_compile_jinja_template` (utils/chat_template_utils.py): an
ImmutableSandboxedEnvironment with trim_blocks, lstrip_blocks and loop controls, the `generation` tag (output kept,
as transformers' AssistantTracker does when it is not tracking), `raise_exception` and `strftime_now` globals, and a
`tojson` filter that is json.dumps with ensure_ascii=False. The templates are written here in the styles of today's
model families (ChatML/Qwen with tools, Llama 3 headers, Gemma turns, Mistral [INST], SmolLM2, content parts) plus
templates that exercise the language: macros, namespace, slicing, filters, tests, whitespace control, loop controls.
"""
import json
import sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.exceptions import TemplateError, TemplateSyntaxError
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment


class Generation(Extension):
    """transformers' `{% generation %}...{% endgeneration %}`: renders its body unchanged."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_environment():
    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return datetime.now().strftime(format)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


TEMPLATES = {}

TEMPLATES["qwen_tools"] = """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are a helpful assistant.' }}
    {%- endif %}
    {{- "\\n\\n# Tools\\n\\nFunction signatures in <tools></tools> tags:\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools>\\n\\nCall one as <tool_call>\\n{\\"name\\": <name>, \\"arguments\\": <json>}\\n</tool_call><|im_end|>\\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
    {%- else %}
        {{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\\n<tool_call>\\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' }}
        {{- message.content }}
        {{- '\\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""

TEMPLATES["qwen3_thinking"] = """{%- if messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and message.content is string and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- set content = message.content if message.content is string else '' %}
    {%- if message.role == "user" or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}
    {%- elif message.role == "assistant" %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is string %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- elif '</think>' in content %}
            {%- set reasoning_content = content.split('</think>')[0].rstrip('\\n').split('<think>')[-1].lstrip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index and (loop.last or reasoning_content) %}
            {{- '<|im_start|>assistant\\n<think>\\n' + reasoning_content.strip('\\n') + '\\n</think>\\n\\n' + content.lstrip('\\n') }}
        {%- else %}
            {{- '<|im_start|>assistant\\n' + content }}
        {%- endif %}
        {{- '<|im_end|>\\n' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
"""

TEMPLATES["llama3"] = """{{- bos_token }}
{%- if not date_string is defined %}
    {%- set date_string = "26 Jul 2024" %}
{%- endif %}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{{- "Cutting Knowledge Date: December 2023\\n" }}
{{- "Today Date: " + date_string + "\\n\\n" }}
{{- system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}
{%- endif %}
"""

TEMPLATES["gemma"] = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)

TEMPLATES["mistral"] = """{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content'] %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set loop_messages = messages %}
{%- endif %}

{{- bos_token }}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('After the optional system message, conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {%- if loop.first and system_message is defined %}
            {{- ' [INST] ' + system_message + '\\n\\n' + message['content'] + ' [/INST]' }}
        {%- else %}
            {{- ' [INST] ' + message['content'] + ' [/INST]' }}
        {%- endif %}
    {%- elif message['role'] == 'assistant' %}
        {{- ' ' + message['content'] + eos_token}}
    {%- else %}
        {{- raise_exception('Only user and assistant roles are supported, with the exception of an initial optional system message!') }}
    {%- endif %}
{%- endfor %}
"""

TEMPLATES["smollm2"] = """{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system
You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>
' }}{% endif %}{{'<|im_start|>' + message['role'] + '
' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant
' }}{% endif %}"""

TEMPLATES["chatml_generation"] = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' }}"
    "{% if message['role'] == 'assistant' %}{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{{ '\\n' }}{% else %}{{ message['content'] + '<|im_end|>' + '\\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)

TEMPLATES["content_parts"] = """{% set image_count = namespace(value=0) %}{% for message in messages %}<|im_start|>{{ message['role'] }}
{% if message['content'] is string %}{{ message['content'] }}<|im_end|>
{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content %}{% set image_count.value = image_count.value + 1 %}Picture {{ image_count.value }}: <|vision_start|><|image_pad|><|vision_end|>{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>
{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""

TEMPLATES["macros"] = """{% macro render_content(content, prefix='') -%}
{%- if content is string -%}
{{ prefix }}{{ content | trim }}
{%- else -%}
{%- for part in content if part.type == 'text' -%}
{{ prefix }}{{ part.text }}{% if not loop.last %} {% endif %}
{%- endfor -%}
{%- endif -%}
{%- endmacro %}
{% macro header(role) %}<|{{ role | upper }}|>{% endmacro %}
{% for message in messages %}
{{ header(message.role) }}
{{ render_content(message.content, prefix='> ') }}
{% endfor %}
{% if add_generation_prompt %}{{ header('assistant') }}
{% endif %}
"""

TEMPLATES["namespace"] = """{% set ns = namespace(system='', count=0, last_role=none) %}
{% for message in messages %}
  {% if message.role == 'system' %}
    {% set ns.system = ns.system ~ message.content %}
  {% else %}
    {% set ns.count = ns.count + 1 %}
  {% endif %}
  {% set ns.last_role = message.role %}
{% endfor %}
System: {{ ns.system if ns.system else 'none' }}
Turns: {{ ns.count }} (last: {{ ns.last_role }})
{% for message in messages if message.role != 'system' %}
{{ loop.index }}/{{ loop.length }} {{ message.role | capitalize }}: {{ message.content }}{{ ' (first)' if loop.first }}{{ ' (last)' if loop.last }}, revindex {{ loop.revindex }}
{% else %}
(no turns)
{% endfor %}
"""

TEMPLATES["selections"] = """{%- set users = messages | selectattr('role', 'equalto', 'user') | list -%}
{%- set roles = messages | map(attribute='role') | unique | list -%}
Roles: {{ roles | join(', ') }}
Users: {{ users | length }}; first: {{ (users | first).content if users else 'n/a' }}
Not user: {{ messages | rejectattr('role', 'equalto', 'user') | map(attribute='role') | list }}
Reversed: {{ messages[::-1] | map(attribute='role') | join('>') }}
Tail: {{ messages[1:] | length }} {{ messages[-1]['content'][:5] }}
{{ messages | tojson(indent=2) }}
{{ {'n': messages|length, 'ok': true, 'none': none, 'pi': 3.25, 'text': 'é "q" \\\\ <b>'} | tojson }}
{{ messages[0] | tojson(separators=(',', ':'), sort_keys=true) }}
{{ messages[0] | tojson(ensure_ascii=true) }}
"""

TEMPLATES["expressions"] = r"""{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 0.1 + 0.2 }} {{ 1e20 }} {{ 10 / 4 * 2 }} {{ -7.5 // 2 }} {{ -7.5 % 2 }}
{{ 'a,b,,c'.split(',') }} {{ '  x y  '.split() }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }}
{{ '  pad  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '  l'.lstrip() }}|{{ 'r  '.rstrip() }}|{{ 'abc'.upper() }}|{{ 'ABC'.lower() }}|{{ 'hello wORLD'.title() }}|{{ 'a-b c(d'|title }}|{{ 'hELLO'|capitalize }}
{{ 'a' ~ 1 ~ none ~ true ~ 2.5 }} {{ [1, 'two', none, false, {'k': [1.5]}] }} {{ 'it\'s' }} {{ "say \"hi\"" }}
{{ x is defined }} {{ x is not defined }} {{ none is none }} {{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 'a' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 1 is number }} {{ none is not none }}
{{ 'b' in 'abc' }} {{ 2 not in [1, 3] }} {{ 'k' in {'k': 1} }} {{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ true == 1 }} {{ [1, 2] == [1, 2] }} {{ 'a' != 'a' }}
{{ missing }}|{{ missing | default('dflt') }}|{{ '' | default('e', true) }}|{{ missing | length }}|{% for x in missing %}never{% endfor %}|{{ missing is none }}|{{ missing == missing }}
{{ 'abc'[1] }} {{ 'abcdef'[1:4] }} {{ 'abcdef'[::2] }} {{ [1,2,3,4][-2:] }} {{ [1,2,3][5] }}| {{ 'abc'[-1] }} {{ [1,2,3,4,5][4:1:-2] }}
{{ 'one two'.replace('o', '0') }} {{ 'aaa'.replace('a', 'b', 2) }} {{ 'x' * 3 }} {{ [0] * 2 }} {{ 'hello' | replace('l', 'L') }}
{{ range(5) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ [3, 1, 2] | sort }} {{ ['b', 'A', 'c'] | sort }} {{ [1, 2, 3] | sum }} {{ [4, 2] | max }} {{ [3, 1, 2] | sort(reverse=true) }}
{{ '{} and {}'.format('a', 1) }} {{ 3.7 | int }} {{ '42' | int + 1 }} {{ 'abc' | list }} {{ {'a': 1, 'b': 2} | items | list }} {{ 'x' | int }} {{ '2.5' | float }}
{{ "line1\nline2\n\nline4" | indent(2) }}|{{ "line1\nline2" | indent(2, true) }}|{{ "a\nb" | indent('> ') }}
{{ {'b': 1, 'a': 2}.items() | list }} {{ {'a': 1}.get('a') }} {{ {'a': 1}.get('z', 'dz') }} {{ {'a': 1}.get('z') }} {{ {'a':1}.keys() | list }} {{ {'a':1}.values() | list }}
{{ 'é' | length }} {{ 'ÉCOLE' | lower }} {{ '😀x'[1] }} {{ 1 if false }}|{{ 'yes' if 1 else 'no' }} {{ 'a' if false else 'b' if false else 'c' }}
{{ 1.5e-7 }} {{ 1234567.0 }} {{ 1e16 }} {{ 1e15 }} {{ -0.0 }} {{ 2 ** -1 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1/3 }} {{ 2.0 * 3 }}
{{ -3 | abs }} {{ 2.567 | round(2) }} {{ 2.5 | round }} {{ [1, 2, 2, 3] | unique | list }} {{ ['a', 'b'] | first }} {{ 'xyz' | last }} {{ [1, 2] | reverse | list }} {{ 'ab' | reverse }}
{{ 'a b  c' | wordcount }} {{ 'x<y' | e }} {{ 'safe' | safe }} {{ [1, 2] | join }} {{ [{'n': 'a'}, {'n': 'b'}] | join(', ', attribute='n') }} {{ {'b': 1, 'A': 2} | dictsort }}
{{ 'abc'.find('c') }} {{ 'abc'.find('z') }} {{ 'banana'.count('an') }} {{ '12'.isdigit() }} {{ 'ab'.isalpha() }} {{ ' '.isspace() }} {{ 'x'.join(['1', '2']) }} {{ 'a\nb\n'.splitlines() }}
{{ not true }} {{ true and 'yes' }} {{ false or 'fallback' }} {{ none or [] }} {{ 0 and 1 }} {{ -(3) }} {{ +4 }} {{ (1 + 2) * 3 }} {{ 2 + 3 * 4 ** 2 }} {{ 1 ~ (2 + 3) }} {{ 'a' ~ 'b' + 'c' }}
"""

TEMPLATES["whitespace"] = """A  {%- if true %}  B  {% endif -%}  C
    {% if true %}
    indented
    {% endif %}
D {{- ' e ' -}} F
  {#- comment -#}
G {# keep #} H
   {%+ if true %}plus{% endif %}
I
{% for i in range(3) %}
  - {{ i }}
{% endfor %}
{% raw %}{{ not rendered }} {% if %}{% endraw %}
  {{ 'var' }}  
	{% if true %}tab{% endif %}
x {% if true %}
y
{% endif %}
end
"""

TEMPLATES["control"] = """{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i > 5 %}{% break %}{% endif %}{{ loop.index0 }}:{{ i }}:{{ loop.cycle('odd', 'even') }}{{ ',' if not loop.last }}{% endfor %}
{% for key, value in {'a': 1, 'b': [2]}.items() %}{{ key }}={{ value }};{% endfor %}
{% for m in messages %}{{ loop.previtem.role if loop.previtem is defined else 'start' }}->{{ m.role }}/{{ loop.nextitem.role if loop.nextitem is defined else 'end' }} {% endfor %}
{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %} after: {{ x }}
{% with y = 5 %}{{ y * 2 }}{% endwith %} {{ y }}|
{% set block %}Hello {{ messages | length }}{% endset %}{{ block | upper }}
{% set piped | trim %}   padded   {% endset %}[{{ piped }}]
{% filter upper %}shout {{ 'this' }}{% endfilter %}
{% macro wrap(tag='b') %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap() %}inside{% endcall %}{% call wrap('i') %}{{ 'x' }}{% endcall %}
{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n * fact(n - 1) | int }}{% endif %}{% endmacro %}{{ fact(5) }}
{% macro va(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ va(1, 2, 3) }}
{% set a, b = [1, 2] %}{{ b }}{{ a }}
{% if messages %}{% for m in messages %}{% if m.role == 'user' %}{% break %}{% endif %}{{ m.role }}{% endfor %}{% endif %}
{% set d = dict(k=1, j='v') %}{{ d }} {{ namespace(a=1).a }}
"""

TEMPLATES["strftime"] = """{{ strftime_now('%Y') | length }} {{ strftime_now('%d %b %Y') | length > 6 }}"""

# Small templates for the lexer's whitespace rules and the parser's corners, each rendered once.
SNIPPETS = {
    "ws_dash_both": "a \n {%- if true -%} \n b \n {%- endif -%} \n c",
    "ws_dash_variable": "a  {{- 'x' -}}  b",
    "ws_dash_comment": "a \n {#- note -#} \n b",
    "ws_trim_block_newline": "{% if true %}\nx\n{% endif %}\ny",
    "ws_trim_not_variable": "{{ 'v' }}\nline",
    "ws_lstrip_indented": "line\n    {% if true %}\n    body\n    {% endif %}\nend",
    "ws_lstrip_not_after_text": "text {% if true %}x{% endif %} more",
    "ws_lstrip_plus": "    {%+ if true %}x{% endif %}",
    "ws_lstrip_tabs": "\t \t{% if true %}x{% endif %}",
    "ws_comment_line": "a\n  {# comment #}\nb",
    "ws_crlf": "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc\r\n",
    "ws_trailing_newlines": "a\n\n",
    "ws_raw": "{% raw %}{{ x }}{% endraw %}\nafter",
    "ws_for_lines": "<ul>\n{% for i in [1, 2] %}\n  <li>{{ i }}</li>\n{% endfor %}\n</ul>",
    "ws_set_lines": "{% set x = 1 %}\n{% set y = 2 %}\n{{ x + y }}\n",
    "ws_macro_lines": "{% macro m() %}\n  inside\n{% endmacro %}\n[{{ m() }}]",
    "ws_unicode_space": "a\u3000{%- if true %}b{% endif %}",
    "parse_dict_braces": "{{ {'a': {'b': 1}}}}",
    "parse_nested_conditional": "{{ 'a' if x else 'b' if y else 'c' }}",
    "parse_filter_precedence": "{{ -1 | abs }} {{ not 1 | string }} {{ 'ab' ~ 'cd' | upper }}",
    "parse_test_argument": "{{ 6 is divisibleby 3 }} {{ 6 is divisibleby(4) }} {{ none is sameas none }}",
    "parse_string_escapes": "{{ 'tab\\there' }}|{{ \"q\\\"q\" }}|{{ '\\u00e9\\x41' }}|{{ 'back\\\\slash' }}|{{ 'keep\\d' }}",
    "parse_adjacent_strings": "{{ 'a' 'b' \"c\" }}",
    "parse_numbers": "{{ 1_000 + 1 }} {{ 1.5e3 }} {{ 2e-3 }} {{ 0.5 }} {{ 10 }}",
    "parse_trailing_commas": "{{ [1, 2,] }} {{ {'a': 1,} }} {{ (1,) }} {{ () }}",
    "parse_attribute_number": "{{ [[1, 2]].0.1 }}",
    "parse_is_not": "{{ x is not defined and y is undefined }}",
    "parse_in_chain": "{{ 1 in [1] in [[1], True] }}",
    "parse_slice_forms": "{{ 'abcdef'[:2] }} {{ 'abcdef'[2:] }} {{ 'abcdef'[:] }} {{ 'abcdef'[-3:-1] }} {{ 'abcdef'[::-2] }}",
    "parse_call_kwargs": "{% macro f(a, b=2, c=3) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ f(1, c=9) }}",
    "parse_endmacro_name": "{% macro g() %}G{% endmacro g %}{{ g() }}",
    "scope_if_leaks": "{% if true %}{% set z = 1 %}{% endif %}{{ z }}",
    "scope_macro_sees_globals": "{% set top = 'T' %}{% macro m() %}{{ top }}{% endmacro %}{{ m() }}",
    "scope_loop_does_not_leak": "{% for i in [1] %}{% set inner = 2 %}{% endfor %}[{{ inner }}][{{ i }}]",
    "scope_override_messages": "{% set messages = messages[1:] %}{{ messages | length }}",
    "undefined_method_on_none": "{{ none.strip }}|",
    "dict_attribute_vs_item": "{% set d = {'items': 1, 'k': 2} %}{{ d['items'] }} {{ d.k }} {{ d['k'] }}",
    "loop_filter_length": "{% for i in range(6) if i is odd %}{{ loop.index }}/{{ loop.length }}{{ ' ' if not loop.last }}{% endfor %}",
    "loop_unpack_items": "{% for k, v in {'x': 1, 'y': 2} | items %}{{ k }}{{ v }}{% endfor %}",
    "loop_string": "{% for c in 'héé' %}[{{ c }}]{% endfor %}",
    "loop_dict_keys": "{% for k in {'b': 1, 'a': 2} %}{{ k }}{% endfor %}",
    "print_float_int_ops": "{{ 3 * 1.0 }} {{ 4 / 2 }} {{ 2 ** 0.5 }} {{ 7 // 2.0 }} {{ 10 % 3.5 }}",
    "print_nested_repr": "{{ {'a': [none, true, 'x\\ny', \"it's\"]} }}",
    "tojson_nesting": "{{ {'a': [], 'b': {}, 'c': [{}], 'd': 1.0, 'e': -0.5} | tojson }} {{ [1, [2, [3]]] | tojson(indent=1) }}",
    "tojson_string_indent": "{{ {'a': [1]} | tojson(indent='\\t') }}",
    "tojson_escapes": "{{ '\\u0001 \\u007f \\u2028 😀' | tojson }} {{ '😀é' | tojson(ensure_ascii=true) }}",
}

# Templates that must fail: the kind of error (raised, syntax, render) is compared; a raised message exactly.
ERROR_TEMPLATES = {
    "syntax_unclosed_if": "{% if x %}no end",
    "syntax_dangling_plus": "{{ 1 + }}",
    "syntax_stray_endfor": "text{% endfor %}",
    "syntax_for_without_in": "{% for x %}{% endfor %}",
    "syntax_unclosed_string": "{{ 'unclosed }}",
    "syntax_unknown_tag": "{% frobnicate %}",
    "syntax_unclosed_variable": "{{ messages ",
    "syntax_bad_bracket": "{{ (1 ]  }}",
    "render_append": "{{ messages.append(1) }}",
    "render_undefined_attribute": "{{ nothing.here }}",
    "render_add_types": "{{ 1 + 'a' }}",
    "render_big_range": "{{ range(1000000) | length }}",
    "render_zero_division": "{{ 1 / 0 }}",
    "render_none_attribute_chain": "{{ none.x.y }}",
    "syntax_unknown_filter": "{{ 1 | frobnicate }}",
    "syntax_unknown_test": "{{ 1 is frobnicated }}",
    "render_call_string": "{{ 'a'() }}",
    "render_update": "{% set d = {} %}{{ d.update({'a': 1}) }}",
    "render_concat_binds_first": "{{ 1 ~ 2 + 3 }}",
    "raised_plain": "before{{ raise_exception('Custom failure: ' ~ messages | length) }}",
}

SYSTEM = {"role": "system", "content": "You are terse."}
CONVERSATIONS = {
    "single": [{"role": "user", "content": "Hello!"}],
    "turns": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "4."},
        {"role": "user", "content": "  And 3+3?  "},
    ],
    "system": [SYSTEM, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."},
               {"role": "user", "content": "Bye"}],
    "unicode": [{"role": "user", "content": "Café ☕ — «quotes» \"double\" 'single' \\ back\nnew line\t tab 😀"},
                {"role": "assistant", "content": "\nÜber 𝔘𝔫𝔦𝔠𝔬𝔡𝔢\n"}],
    "bad_alternation": [{"role": "user", "content": "one"}, {"role": "user", "content": "two"}],
}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City"}},
                         "required": ["city"]}}}]
TOOL_CONVERSATION = [
    {"role": "user", "content": "Weather in Paris and Lyon?"},
    {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}},
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Lyon", "unit": "°C"}}}]},
    {"role": "tool", "content": "{\"temp\": 21}"},
    {"role": "tool", "content": "{\"temp\": 19}"},
    {"role": "assistant", "content": "21 and 19."},
]
THINKING_CONVERSATIONS = {
    "inline": [SYSTEM, {"role": "user", "content": "Hi"},
               {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nHello"}, {"role": "user", "content": "More?"}],
    "last": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "<think>why</think>\nA"}],
    "field": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "reasoning_content": "because"},
              {"role": "user", "content": "<tool_response>x</tool_response>"}, {"role": "assistant", "content": "B"}],
}
PARTS_CONVERSATION = [
    {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is this?"}]},
    {"role": "assistant", "content": "A cat."},
    {"role": "user", "content": [{"type": "text", "text": "And"}, {"type": "image", "image": "x.png"},
                                 {"type": "text", "text": "this?"}]},
]


def context(messages, generation, **extra):
    return {"messages": messages, "add_generation_prompt": generation, "bos_token": "<s>", "eos_token": "</s>",
            **extra}


def cases():
    chat = ["single", "turns", "system", "unicode"]
    for name in ["qwen_tools", "llama3", "smollm2", "chatml_generation", "namespace", "selections", "macros"]:
        for conversation in chat:
            for generation in (False, True):
                yield name, f"{conversation}-{generation}", context(CONVERSATIONS[conversation], generation)
    yield "qwen_tools", "tools", context(TOOL_CONVERSATION, True, tools=TOOLS)
    for label, messages in THINKING_CONVERSATIONS.items():
        yield "qwen3_thinking", label, context(messages, True)
        yield "qwen3_thinking", label + "-no-thinking", context(messages, True, enable_thinking=False)
    yield "qwen_tools", "tool_calls_no_tools", context(TOOL_CONVERSATION, False)
    yield "llama3", "date", context(CONVERSATIONS["system"], True, date_string="05 Dec 2026")
    for name in ["gemma", "mistral"]:
        for conversation in ["single", "turns", "system", "bad_alternation"]:
            yield name, f"{conversation}-True", context(CONVERSATIONS[conversation], True)
    yield "mistral", "unicode", context(CONVERSATIONS["unicode"], False)
    yield "content_parts", "parts", context(PARTS_CONVERSATION, True)
    yield "macros", "parts", context(PARTS_CONVERSATION, False)
    yield "namespace", "empty", context([], False)
    yield "expressions", "plain", context([], False)
    yield "whitespace", "plain", context([], False)
    yield "control", "turns", context(CONVERSATIONS["system"], False)
    yield "strftime", "plain", context([], False)
    for name in SNIPPETS:
        yield name, "plain", context(CONVERSATIONS["turns"], False)
    for name in ERROR_TEMPLATES:
        yield name, "error", context(CONVERSATIONS["turns"], False)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_jinja_fixtures.py OUT_FILE")
    env = make_environment()
    templates = {**TEMPLATES, **SNIPPETS, **ERROR_TEMPLATES}
    out = {"jinja2": jinja2.__version__, "templates": templates, "cases": []}
    for name, label, ctx in cases():
        case = {"template": name, "name": f"{name}/{label}", "context": ctx}
        try:
            case["expected"] = env.from_string(templates[name]).render(**ctx)
        except TemplateSyntaxError:
            case["error"] = "syntax"
        except TemplateError as error:
            is_raised = type(error) is TemplateError
            case["error"] = "raised" if is_raised else "render"
            if is_raised:
                case["message"] = str(error)
        except Exception:
            case["error"] = "render"
        out["cases"].append(case)
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {len(out['cases'])} cases to {sys.argv[1]}")


if __name__ == "__main__":
    main()
