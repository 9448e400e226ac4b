import { Module } from '@nestjs/common';
import { ChangeNotifications } from './change-notifications.js';

/** Imported by every module that caches rows: one listener per process, whichever imports it. */
@Module({ providers: [ChangeNotifications], exports: [ChangeNotifications] })
export class ChangeNotificationsModule {}
