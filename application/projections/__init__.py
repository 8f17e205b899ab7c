"""Pure projections: typed events in, row operations out, no SQL and no I/O.

Each read model is one module here (its rules) and one view class in
infrastructure/readmodels/ (its SQL), as eventsourcing's ftsprojection example
splits a projection from its PostgresFtsView. What a projection needs to know of
rows already stored comes through a small read-only port it declares."""
