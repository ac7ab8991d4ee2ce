"""Applying functions to every needed template, with user overrides (cabinetry.route).

:func:`apply_to_all_templates` loops over regions, samples and ``[nominal] +
Systematics`` and calls a function for each template the config needs.
:class:`Router` holds user-defined template builders, matched by fnmatch patterns::

    router = hifit.cabinetry.route.Router()

    @router.register_template_builder(region_name="SR", template="Up")
    def build_up(region, sample, systematic, template):
        return boost_histogram.Histogram(...)

    hifit.cabinetry.templates.build(config, router=router)
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Callable
from typing import Any, Literal

from . import configuration

__all__ = [
    "MatchFunc",
    "ProcessorFunc",
    "Router",
    "UserTemplateFunc",
    "WrapperFunc",
    "apply_to_all_templates",
]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

TemplateName = Literal["Up", "Down"] | None

# Called for each template with (region, sample, systematic, template); template is
# "Up", "Down", or None for the nominal (the systematic is then {}).
ProcessorFunc = Callable[[dict[str, Any], dict[str, Any], dict[str, Any], Any], None]
# A user-defined builder: same arguments, returns a boost_histogram.Histogram.
UserTemplateFunc = Callable[[dict[str, Any], dict[str, Any], dict[str, Any], Any], Any]
# Given region, sample, systematic ("" for nominal) names and the template, returns
# the override to call, or None.
MatchFunc = Callable[[str, str, str, TemplateName], ProcessorFunc | None]
# Turns a user-defined builder into a ProcessorFunc (which saves the histogram).
WrapperFunc = Callable[[UserTemplateFunc], ProcessorFunc]


def _template_matches(template: TemplateName, pattern: str | None) -> bool:
    """None matches only the nominal, "*" everything, other patterns never nominal."""
    if template is None:
        return pattern is None or pattern == "*"
    if pattern is None:
        return False
    return fnmatch.fnmatch(template, pattern)


class Router:
    """User-defined template builders and the matching of templates to them.

    Attributes:
        template_builders: registered builders, in registration order
        template_builder_wrapper: set by ``templates.build`` to turn a builder into a
            function that saves its histogram
    """

    def __init__(self) -> None:
        self.template_builders: list[dict[str, Any]] = []
        self.template_builder_wrapper: WrapperFunc | None = None

    @staticmethod
    def _register_processor(
        processor_list: list[dict[str, Any]],
        region_name: str,
        sample_name: str,
        systematic_name: str,
        template: str | None,
    ) -> Callable[[UserTemplateFunc], UserTemplateFunc]:
        def _register(func: UserTemplateFunc) -> UserTemplateFunc:
            processor_list.append(
                {
                    "region": region_name,
                    "sample": sample_name,
                    "systematic": systematic_name,
                    "template": template,
                    "name": func.__name__,
                    "func": func,
                }
            )
            return func

        return _register

    def register_template_builder(
        self,
        *,
        region_name: str = "*",
        sample_name: str = "*",
        systematic_name: str = "*",
        template: str | None = "*",
    ) -> Callable[[UserTemplateFunc], UserTemplateFunc]:
        """Decorator registering a template builder for the matching templates.

        Names are fnmatch patterns. ``template``: "*" matches every template, None
        only the nominal, any other pattern ("Up", "Down") never the nominal. The
        nominal's systematic name is "". The decorated function is returned as is.
        """
        return self._register_processor(
            self.template_builders, region_name, sample_name, systematic_name, template
        )

    @staticmethod
    def _find_match(
        processor_list: list[dict[str, Any]],
        region_name: str,
        sample_name: str,
        systematic_name: str,
        template: TemplateName,
    ) -> UserTemplateFunc | None:
        """The first processor matching the template (a warning if several do)."""
        matches = [
            processor["func"]
            for processor in processor_list
            if fnmatch.fnmatch(region_name, processor["region"])
            and fnmatch.fnmatch(sample_name, processor["sample"])
            and fnmatch.fnmatch(systematic_name, processor["systematic"])
            and _template_matches(template, processor["template"])
        ]
        if not matches:
            return None
        if len(matches) > 1:
            log.warning(
                "found %d matches, continuing with the first one (%s)",
                len(matches),
                matches[0].__name__,
            )
        return matches[0]

    def _find_template_builder_match(
        self,
        region_name: str,
        sample_name: str,
        systematic_name: str,
        template: TemplateName,
    ) -> ProcessorFunc | None:
        """The wrapped builder matching the template, or None."""
        if self.template_builder_wrapper is None:
            raise ValueError("no template builder wrapper defined")
        match = self._find_match(
            self.template_builders, region_name, sample_name, systematic_name, template
        )
        if match is None:
            return None
        return self.template_builder_wrapper(match)


def _templates_of(systematic: dict[str, Any]) -> list[TemplateName]:
    return [None] if not systematic else ["Up", "Down"]


def apply_to_all_templates(
    config: dict[str, Any],
    default_func: ProcessorFunc,
    *,
    match_func: MatchFunc | None = None,
) -> None:
    """Call ``default_func(region, sample, systematic, template)`` per needed template.

    Order: regions, then samples, then the nominal (``systematic == {}``, template
    None) and each systematic's "Up" and "Down", skipping what
    ``configuration.histogram_is_needed`` rules out. A function returned by
    ``match_func(region name, sample name, systematic name or "", template)``
    replaces ``default_func`` for that template.
    """
    for region in config["Regions"]:
        for sample in config["Samples"]:
            for systematic in [{}, *config.get("Systematics", [])]:
                for template in _templates_of(systematic):
                    if not configuration.histogram_is_needed(
                        region, sample, systematic, template
                    ):
                        continue
                    func = default_func
                    if match_func is not None:
                        systematic_name = (
                            systematic["Name"] if template is not None else ""
                        )
                        override = match_func(
                            region["Name"], sample["Name"], systematic_name, template
                        )
                        if override is not None:
                            log.debug("executing user-defined override %s", override)
                            func = override
                    func(region, sample, systematic, template)
