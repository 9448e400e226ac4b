import { type CircuitState, ConsecutiveBreaker, CountBreaker, type IBreaker } from 'cockatiel';

/**
 * Opens on either signal: a run of consecutive failures (a provider that went down) or a failure
 * ratio over the last calls (a provider failing intermittently, which never fails many in a row).
 */
export class EitherBreaker implements IBreaker {
  private readonly consecutive: ConsecutiveBreaker;
  private readonly ratio: CountBreaker;

  constructor(options: { consecutiveFailures: number; failureRatio: number; windowSize: number; minimumCalls: number }) {
    this.consecutive = new ConsecutiveBreaker(options.consecutiveFailures);
    this.ratio = new CountBreaker({ threshold: options.failureRatio, size: options.windowSize, minimumNumberOfCalls: options.minimumCalls });
  }

  get state(): unknown {
    return [this.consecutive.state, this.ratio.state];
  }

  set state(value: unknown) {
    const [consecutive, ratio] = value as [number, unknown];
    this.consecutive.state = consecutive;
    this.ratio.state = ratio;
  }

  success(state: CircuitState): void {
    this.consecutive.success();
    this.ratio.success(state);
  }

  failure(state: CircuitState): boolean {
    const consecutive = this.consecutive.failure();
    const ratio = this.ratio.failure(state);
    return consecutive || ratio;
  }
}
