"""``retroprop playground``: watch and step backpropagation live in the browser.

A Starlette server (:mod:`.server`) with one WebSocket per page; per connection a
:class:`~.session.Session` (data preprocessed as ``retroprop train`` does, :mod:`.data`; the
settings, :mod:`.settings`), a worker thread that plays (:mod:`.runner`, through ``fit``), the
frames it sends (:mod:`.frames`: decision map, neuron maps, curves, the glass-box step), the
undo history of every change (:mod:`.history`), the saved state (:mod:`.saved_state`) and the
downloads (:mod:`.exports`). The page is plain JavaScript and SVG/canvas in ``static/``: no
build step, no CDN.
"""
