// Children React renders as a non-urgent update (a transition) once the rest of the page is on screen.
//
// A state delta is applied synchronously (Reflex's store is read with useSyncExternalStore), so everything it
// mounts is built in one task; on the media page that task held a phone's main thread for ~0.5 s. Below-the-fold
// panels wrapped in NonUrgent mount in a transition instead, which React renders in slices of a few milliseconds,
// yielding to input and paint between them. Once shown they update like any other part of the page.
import { createElement, Fragment, startTransition, useEffect, useState } from "react";

export function NonUrgent({ children }) {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    startTransition(() => setShown(true));
  }, []);
  return shown ? createElement(Fragment, null, children) : null;
}
