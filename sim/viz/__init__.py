"""The interactive visualizer: ``sim viz SCENARIO`` serves a page, built on Solara and
Plotly, that shows a scenario's society running step by step.

Modules, from data to page: :mod:`~sim.viz.layout` (which agents to draw and where),
:mod:`~sim.viz.parameters` (controls generated from the scenario), :mod:`~sim.viz.session`
(:class:`~sim.viz.session.LiveRun`, the run one browser tab drives),
:mod:`~sim.viz.figures` (Plotly figures), :mod:`~sim.viz.components` (the Solara page),
:mod:`~sim.viz.app` (the app Solara serves) and :mod:`~sim.viz.server`
(:func:`~sim.viz.server.serve`, what ``sim viz`` calls).

Nothing is imported here: the page's libraries (Solara, Mesa's visualization) load only
when the visualizer is used.
"""
